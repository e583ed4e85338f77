"""The live progress bar: redrawn by the clock, not every step, showing loss and val metrics."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch
from pytorch_lightning.callbacks import TQDMProgressBar
from tiny_cli import tiny_args

from lightning_module import RecurrentClassifier
from lightning_module.cli import run_cli
from lightning_module.training import progress
from lightning_module.training.progress import LiveProgressBar

pytestmark = pytest.mark.filterwarnings("ignore:LightningCLI's args parameter")


def test_a_bar_redraws_only_after_refresh_seconds_and_always_at_the_last_batch(monkeypatch):
    clock = iter([100.0, 100.1, 100.2, 100.3, 100.6, 100.65, 100.7])
    monkeypatch.setattr(progress.time, "monotonic", lambda: next(clock))
    bar = LiveProgressBar(refresh_seconds=0.5)
    decisions = [bar._should_update(n, 7) for n in range(1, 8)]
    #            100.0 first  100.1   100.2  100.3   100.6 (0.6 later)  100.65  last batch
    assert decisions == [True, False, False, False, True, False, True]


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


@pytest.mark.parametrize(("refresh_seconds", "loss_window"), [(0, 20), (-1.0, 20), (0.25, 0)])
def test_bad_settings_are_refused_naming_them(refresh_seconds, loss_window):
    name = "refresh_seconds" if refresh_seconds <= 0 else "loss_window"
    with pytest.raises(ValueError, match=name):
        LiveProgressBar(refresh_seconds=refresh_seconds, loss_window=loss_window)


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


def test_a_bar_writes_a_few_lines_for_many_fast_steps():
    bar = LiveProgressBar(refresh_seconds=3600)  # the test's steps all fall in one interval
    redraws = sum(bar._should_update(n, 10_000) for n in range(1, 10_001))
    assert redraws == 2  # the first batch and the last
