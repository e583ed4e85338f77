"""The live progress bar: Lightning's tqdm bars every few batches, showing loss and val metrics."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch
from pytorch_lightning.callbacks import TQDMProgressBar
from tiny_cli import tiny_args

from lightning_module import RecurrentClassifier
from lightning_module.cli import run_cli
from lightning_module.training.progress import LiveProgressBar

pytestmark = pytest.mark.filterwarnings("ignore:LightningCLI's args parameter")


def test_a_bar_redraws_every_refresh_rate_batches_through_lightnings_public_setting():
    bar = LiveProgressBar(refresh_rate=25)
    assert bar.refresh_rate == 25
    assert LiveProgressBar().refresh_rate == 10


def test_metrics_are_the_running_loss_and_the_last_validation():
    model = RecurrentClassifier(hidden_size=4)
    for value in (3.0, 1.0, 2.0):
        model._train_steps.append((torch.tensor(value),))
    trainer = SimpleNamespace(callback_metrics={"val_loss": torch.tensor(0.25), "val_acc": 0.5})
    metrics = LiveProgressBar(loss_window=2).get_metrics(trainer, model)
    assert metrics == {"loss": "1.5000", "val_loss": "0.2500", "val_acc": "0.5000"}
    assert LiveProgressBar().get_metrics(SimpleNamespace(callback_metrics={}), model) == {
        "loss": "2.0000"
    }


@pytest.mark.parametrize(("refresh_rate", "loss_window"), [(0, 20), (2.5, 20), (10, 0)])
def test_bad_settings_are_refused_naming_them(refresh_rate, loss_window):
    name = "refresh_rate" if refresh_rate != 10 else "loss_window"
    with pytest.raises(ValueError, match=name):
        LiveProgressBar(refresh_rate=refresh_rate, loss_window=loss_window)


def test_the_cli_shows_the_live_bar_with_val_metrics_and_none_when_the_bar_is_off(
    mnist_dir, tmp_path, capsys
):
    args = [*tiny_args(mnist_dir, tmp_path / "runs"), "--trainer.max_epochs", "2"]
    args[args.index("--trainer.enable_progress_bar") + 1] = "true"
    cli = run_cli(["fit", *args])
    bars = [cb for cb in cli.trainer.callbacks if isinstance(cb, TQDMProgressBar)]
    assert len(bars) == 1 and isinstance(bars[0], LiveProgressBar)
    shown = capsys.readouterr().out  # Lightning's bars write to stdout
    assert "val_loss=" in shown and "val_acc=" in shown and " loss=" in shown
    assert "v_num" not in shown
    off = run_cli(["fit", *tiny_args(mnist_dir, tmp_path / "runs2"), "--trainer.max_epochs", "1"])
    assert not any(isinstance(cb, TQDMProgressBar) for cb in off.trainer.callbacks)
