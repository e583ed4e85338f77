"""Training through the CLI: every cell and step size, early stopping, learning the fixture."""

from __future__ import annotations

import pytest
import torch
from tiny_cli import tiny_args

from lightning_module.cli import run_cli
from lightning_module.training.curves import read_epoch_curves

pytestmark = pytest.mark.filterwarnings("ignore:LightningCLI's args parameter")


def test_practical_early_stopping_with_patience_0_stops_at_the_first_epoch_without_improvement(
    mnist_dir, tmp_path
):
    # Adam steps of ~1e-9 are below float32 resolution for these weights, so the weights and
    # val_loss stay exactly equal: an equal loss is no improvement (the practical's >= test).
    cli = run_cli(
        [
            "fit",
            *tiny_args(mnist_dir, tmp_path / "runs"),
            "--model.lr",
            "1e-9",
            "--trainer.max_epochs",
            "20",
            "--early_stopping.patience",
            "0",
        ]
    )
    curves = read_epoch_curves(tmp_path / "runs" / "tiny" / "version_0", ("val_loss",))["val_loss"]
    assert [epoch for epoch, _ in curves] == [1, 2]
    assert curves[1][1] == curves[0][1]
    assert cli.trainer.should_stop


@pytest.mark.parametrize("cell", ["rnn", "gru", "lstm"])
@pytest.mark.parametrize("pixels_per_step", [28, 1, 16])
def test_fit_runs_every_cell_with_every_step_size(mnist_dir, tmp_path, cell, pixels_per_step):
    # oneDNN builds an RNN kernel per new (batch, steps) shape, which takes seconds for 784
    # steps and would dominate these one-batch runs; torch's own kernels are checked the same.
    with torch.backends.mkldnn.flags(enabled=pixels_per_step != 1):
        cli = run_cli(
            [
                "fit",
                *tiny_args(mnist_dir, tmp_path / "runs"),
                "--model.cell",
                cell,
                "--model.pixels_per_step",
                str(pixels_per_step),
                "--model.hidden_size",
                "4",
                "--trainer.fast_dev_run",
                "true",
            ]
        )
    assert cli.model.net.num_steps == 784 // pixels_per_step
    expected_layer = {"rnn": "RNN", "gru": "FusedGRU", "lstm": "LSTM"}[cell]  # gru_impl auto, CPU
    assert type(cli.model.net.rnn).__name__ == expected_layer
    assert torch.isfinite(torch.tensor(cli.test_results[0]["test_loss"]))


def test_fit_learns_the_synthetic_digits(mnist_dir, tmp_path):
    cli = run_cli(
        [
            "fit",
            *tiny_args(mnist_dir, tmp_path / "runs"),
            "--model.cell",
            "gru",
            "--model.hidden_size",
            "16",
            "--model.lr",
            "0.01",
            "--data.batch_size",
            "20",
            "--trainer.max_epochs",
            "8",
            "--early_stopping.patience",
            "10",
        ]
    )
    assert cli.trainer.callback_metrics["test_acc"].item() >= 0.9
