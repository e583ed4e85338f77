"""Matplotlib figures for TensorBoard: a confusion matrix and a grid of misclassified digits.

Shape legend: C classes, K examples.
Uses the non-interactive Agg canvas directly, so no display (and no pyplot state) is needed.
"""

from __future__ import annotations

import numpy as np
import torch
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
