"""The per-step readout: its accuracy metric, its figures, and both in TensorBoard after test."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from matplotlib.collections import PolyCollection
from matplotlib.colors import to_rgba
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tiny_cli import tiny_args

from lightning_module.cli import main
from lightning_module.training.figures import readout_figure, row_accuracy_figure
from lightning_module.training.row_accuracy import RowAccuracy


def test_row_accuracy_counts_per_step_the_images_whose_most_likely_class_is_the_label():
    metric = RowAccuracy(num_steps=3)
    # two images, three steps: image 0 is right at steps 2 and 3, image 1 only at step 3
    probabilities = torch.tensor(
        [
            [[0.9, 0.1], [0.2, 0.8], [0.3, 0.7]],
            [[0.6, 0.4], [0.7, 0.3], [0.1, 0.9]],
        ]
    )
    metric.update(probabilities, torch.tensor([1, 1]))
    metric.update(probabilities[:1], torch.tensor([0]))  # right at step 1 only
    assert metric.compute().tolist() == pytest.approx([1 / 3, 1 / 3, 2 / 3])
    metric.reset()
    metric.update(probabilities, torch.tensor([0, 0]))
    assert metric.compute().tolist() == pytest.approx([1.0, 0.5, 0.0])


def test_readout_figure_draws_per_digit_the_image_one_bar_per_step_and_class_and_the_states():
    torch.manual_seed(0)
    probabilities = torch.softmax(torch.randn(2, 28, 10), dim=2)
    hidden = torch.rand(2, 28, 5) * 2 - 1
    figure = readout_figure(torch.rand(2, 28, 28), probabilities, hidden, "t", torch.tensor([3, 4]))
    image_axes, bar_axes, state_axes = figure.axes[0], figure.axes[1], figure.axes[2]
    assert image_axes.get_title().startswith("label 3, read as ")
    assert figure.axes[4].get_title().startswith("label 4, read as ")  # after the colorbar
    (bars,) = [c for c in bar_axes.collections if isinstance(c, PolyCollection)]
    heights = np.array([np.ptp(path.vertices[:, 1]) for path in bars.get_paths()]).reshape(28, 10)
    np.testing.assert_allclose(heights, 0.9 * probabilities[0].numpy(), atol=1e-6)
    red = (bars.get_facecolors() == to_rgba("tab:red")).all(axis=1).reshape(28, 10)
    assert red.argmax(axis=1).tolist() == probabilities[0].argmax(dim=1).tolist()
    np.testing.assert_allclose(state_axes.images[0].get_array(), hidden[0].numpy(), rtol=1e-6)


def test_row_accuracy_figure_draws_one_line_per_model_in_percent():
    figure = row_accuracy_figure({"rnn": [0.1, 0.5, 0.9], "gru": [0.2, 0.6, 0.95]}, "t")
    lines = figure.axes[0].get_lines()
    assert [line.get_label() for line in lines] == ["rnn", "gru"]
    assert lines[1].get_xdata().tolist() == [1, 2, 3]
    assert lines[1].get_ydata().tolist() == pytest.approx([20, 60, 95])


@pytest.mark.filterwarnings("ignore:LightningCLI's args parameter")
def test_test_writes_the_readout_figures_to_tensorboard(tiny_checkpoint, tmp_path):
    ckpt, data = tiny_checkpoint
    assert main(["test", *tiny_args(data, tmp_path / "runs"), "--ckpt_path", str(ckpt)]) == 0
    events = EventAccumulator(str(tmp_path / "runs" / "tiny" / "test" / "version_0"), {"images": 0})
    events.Reload()
    tags = events.Tags()["images"]
    assert {"test/readouts", "test/accuracy_by_step"} <= set(tags)
    for tag in ("test/readouts", "test/accuracy_by_step"):
        (image,) = events.Images(tag)
        assert image.width > 300 and image.height > 200
