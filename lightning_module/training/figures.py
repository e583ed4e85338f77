"""Matplotlib figures: a confusion matrix, misclassified digits, and what the model reads per row.

Shape legend: C classes, K examples, T time steps, H hidden units.
Uses the non-interactive Agg canvas directly, so no display (and no pyplot state) is needed.
"""

from __future__ import annotations

import numpy as np
import torch
from matplotlib.collections import PolyCollection
from matplotlib.figure import Figure


def confusion_figure(matrix: torch.Tensor, title: str) -> Figure:
    """Draw a confusion matrix.

    Args:
        matrix: (C, C) counts, rows = true class, columns = predicted class.
        title: figure title.
    """
    counts = matrix.detach().cpu().numpy()
    classes = counts.shape[0]
    figure = Figure(figsize=(5.5, 5.5))
    axes = figure.add_axes((0.1, 0.09, 0.86, 0.84))
    axes.imshow(counts, cmap="Blues")
    threshold = counts.max() / 2 if counts.size else 0
    for true in range(classes):
        for predicted in range(classes):
            value = int(counts[true, predicted])
            color = "white" if value > threshold else "black"
            axes.text(
                predicted, true, str(value), ha="center", va="center", fontsize=7, color=color
            )
    axes.set_xticks(np.arange(classes))
    axes.set_yticks(np.arange(classes))
    axes.set_xlabel("predicted")
    axes.set_ylabel("true")
    axes.set_title(title)
    return figure


def misclassified_figure(
    images: torch.Tensor, true: torch.Tensor, predicted: torch.Tensor, title: str
) -> Figure:
    """Draw misclassified digits as one tiled image, each tile labelled "t→p" (true→predicted).

    One axes for the whole grid keeps this cheap enough to draw after every validation epoch.

    Args:
        images: (K, 28, 28) images in [0, 1] (K may be 0: the figure then says so).
        true: (K,) true labels.
        predicted: (K,) predicted labels.
        title: figure title.
    """
    count = images.shape[0]
    columns = min(max(count, 1), 8)
    rows = max(1, -(-count // columns))
    figure = Figure(figsize=(1.2 * columns, 1.3 * rows + 0.5))
    axes = figure.add_axes((0.01, 0.01, 0.98, 0.98 - 0.45 / (1.3 * rows + 0.5)))
    axes.axis("off")
    figure.suptitle(title)
    if count == 0:
        axes.text(0.5, 0.5, "no misclassified examples", ha="center", va="center")
        return figure
    side, gap = 28, 8  # the gap above each tile holds its label
    mosaic = np.ones((rows * (side + gap), columns * side + (columns - 1) * 2), dtype=np.float32)
    pixels = images.detach().float().cpu().reshape(count, side, side).numpy()
    for i in range(count):
        row, column = divmod(i, columns)
        top, left = row * (side + gap) + gap, column * (side + 2)
        mosaic[top : top + side, left : left + side] = 1.0 - pixels[i]  # dark ink on white
        axes.text(
            left + side / 2,
            top - 1,
            f"{int(true[i])}\u2192{int(predicted[i])}",
            ha="center",
            va="bottom",
            fontsize=8,
        )
    axes.imshow(mosaic, cmap="gray", vmin=0.0, vmax=1.0, interpolation="nearest")
    return figure


def readout_figure(
    images: torch.Tensor,
    probabilities: torch.Tensor,
    hidden: torch.Tensor,
    title: str,
    labels: torch.Tensor | None = None,
) -> Figure:
    """Per digit, side by side on one time axis: the image, the class probabilities after each
    step (one strip of C bars per step, the step's most likely class in red) and the top layer's
    hidden state after each step as a heat map.

    Step t of a row-by-row model has read image rows 1..t, so each strip sits next to the last
    row it has seen (other step sizes map onto the rows in proportion).

    Args:
        images: (K, 28, 28) in [0, 1].
        probabilities: (K, T, C), e.g. from ``SequenceClassifierNet.readout``.
        hidden: (K, T, H), the hidden states that go with them.
        title: figure title.
        labels: (K,) true classes, shown in each digit's caption when given.
    """
    pixels = images.detach().float().cpu().reshape(-1, 28, 28).numpy()
    probs = probabilities.detach().float().cpu().numpy()
    states = hidden.detach().float().cpu().numpy()
    count, steps, classes = probs.shape
    figure = Figure(figsize=(10.5, 3.6 * count + 0.4))
    grid = figure.add_gridspec(count, 3, width_ratios=(1, 1.6, 2.2), wspace=0.28, hspace=0.45)
    figure.suptitle(title)
    extent_y = (steps + 0.5, 0.5)  # step 1 at the top, like the image's first row
    for k in range(count):
        image_axes, bar_axes, state_axes = (figure.add_subplot(grid[k, i]) for i in range(3))
        image_axes.imshow(
            pixels[k], cmap="gray", vmin=0, vmax=1, extent=(0.5, 28.5, *extent_y), aspect="auto"
        )
        image_axes.set_xticks([])
        image_axes.set_ylabel("step (rows read)" if steps == 28 else "step")
        final = int(probs[k, -1].argmax())
        caption = f"read as {final} ({100 * probs[k, -1, final]:.0f}%)"
        if labels is not None:
            caption = f"label {int(labels[k])}, {caption}"
        image_axes.set_title(caption, fontsize=9)
        _probability_strips(bar_axes, probs[k])
        bar_axes.set_title("probabilities after each step", fontsize=9)
        shown = state_axes.imshow(
            states[k],
            cmap="RdBu_r",
            vmin=-1,
            vmax=1,
            extent=(0.5, states.shape[2] + 0.5, *extent_y),
            aspect="auto",
            interpolation="nearest",
        )
        state_axes.set_xlabel("hidden unit")
        state_axes.set_title("hidden state after each step", fontsize=9)
        figure.colorbar(shown, ax=state_axes, fraction=0.05, pad=0.02)
    return figure


def _probability_strips(axes, probabilities: np.ndarray) -> None:
    """(T, C) probabilities as T horizontal strips of C bars (one collection: cheap for any T)."""
    steps, classes = probabilities.shape
    rows, columns = np.meshgrid(np.arange(1, steps + 1), np.arange(classes), indexing="ij")
    bottom = rows + 0.45  # y grows downwards: a bar rises from its strip's lower edge
    top = bottom - 0.9 * probabilities
    left, right = columns - 0.4, columns + 0.4
    corners = np.stack(
        [
            np.stack(pair, axis=-1)
            for pair in ((left, bottom), (left, top), (right, top), (right, bottom))
        ],
        axis=2,
    ).reshape(-1, 4, 2)
    colours = np.where(
        (columns == probabilities.argmax(axis=1)[:, None]).ravel(), "tab:red", "tab:blue"
    )
    axes.add_collection(PolyCollection(corners, facecolors=colours, linewidths=0))
    axes.set_xlim(-0.6, classes - 0.4)
    axes.set_ylim(steps + 0.5, 0.5)
    axes.set_xticks(np.arange(classes))
    axes.set_xlabel("class")


def row_accuracy_figure(accuracies: dict[str, list[float]], title: str) -> Figure:
    """Test accuracy of the readout after each step, one line per model.

    Args:
        accuracies: model name -> (T,) accuracies in [0, 1] after steps 1..T.
        title: figure title.
    """
    figure = Figure(figsize=(6.5, 4.2))
    axes = figure.add_axes((0.11, 0.12, 0.85, 0.78))
    for name, values in accuracies.items():
        steps = np.arange(1, len(values) + 1)
        axes.plot(steps, 100 * np.asarray(values), marker="o", markersize=3, label=name)
    axes.set_xlabel("rows read" if all(len(v) == 28 for v in accuracies.values()) else "steps")
    axes.set_ylabel("test accuracy (%)")
    axes.set_ylim(0, 100)
    axes.grid(alpha=0.3)
    axes.legend(loc="lower right")
    axes.set_title(title)
    return figure
