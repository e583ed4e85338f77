"""The progress bar users see: Lightning's tqdm bars with live metrics, redrawn a few times a
second at most.

It shows the running training loss and the last validation's ``val_loss`` / ``val_acc``.
"""

from __future__ import annotations

import sys
from typing import Any

import pytorch_lightning as pl
from pytorch_lightning.callbacks import TQDMProgressBar

_drawing = {"bar": False}  # whether a bar's line is on the screen, unfinished


def drawing_a_bar() -> bool:
    """Whether a progress bar is being drawn now (an error must then start on a new line)."""
    return _drawing["bar"]


def own_line() -> str:
    """A line break when a progress bar's line is unfinished, so an error starts on its own."""
    return "\n" if drawing_a_bar() else ""


def print_error(message: str) -> None:
    """``rnn-mnist: error: <message>`` on stderr, on a line of its own."""
    print(f"{own_line()}rnn-mnist: error: {message}", file=sys.stderr, flush=True)


class LiveProgressBar(TQDMProgressBar):
    """Lightning's tqdm bars (``refresh_rate``: redraw every this many batches), showing
    ``loss`` (the running training loss), ``val_loss`` and ``val_acc``.

    Args:
        refresh_rate: batches between two redraws, >= 1.
        loss_window: the running training loss is the mean over the last this many steps.
    """

    def __init__(self, refresh_rate: int = 10, loss_window: int = 20, **kwargs: Any):
        from lightning_module.utils.checks import require_int

        super().__init__(refresh_rate=require_int("refresh_rate", refresh_rate, 1), **kwargs)
        self.loss_window = require_int("loss_window", loss_window, 1)

    def get_metrics(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> dict[str, Any]:
        """``loss`` (running training loss), ``val_loss`` and ``val_acc`` of the last validation."""
        metrics: dict[str, Any] = {}
        recent = getattr(pl_module, "recent_train_loss", None)
        loss = recent(self.loss_window) if callable(recent) else None
        if loss is not None:
            metrics["loss"] = f"{loss:.4f}"
        for name in ("val_loss", "val_acc"):
            value = trainer.callback_metrics.get(name)
            if value is not None:
                metrics[name] = f"{float(value):.4f}"
        return metrics

    def on_fit_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        _drawing["bar"] = self.is_enabled
        super().on_fit_start(trainer, pl_module)

    def on_fit_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        _drawing["bar"] = False
        super().on_fit_end(trainer, pl_module)

    def on_test_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        _drawing["bar"] = self.is_enabled
        super().on_test_start(trainer, pl_module)

    def on_test_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        _drawing["bar"] = False
        super().on_test_end(trainer, pl_module)
