"""The progress bar users see: refreshed a few times a second, not every step, with live metrics.

It shows the running training loss and the last validation's ``val_loss`` / ``val_acc``.
"""

from __future__ import annotations

import time
from typing import Any

import pytorch_lightning as pl
from pytorch_lightning.callbacks import TQDMProgressBar


class LiveProgressBar(TQDMProgressBar):
    """Lightning's tqdm bars, redrawn at most every ``refresh_seconds`` (and at each end).

    Lightning's own bar redraws after every batch: formatting the line, writing it to the
    terminal or log file and reading the metrics back from the device, which is a fixed cost
    per step that short steps feel. Here a step only compares two clock readings; the metrics are
    read back (one host sync) only when the line is redrawn.

    Args:
        refresh_seconds: the shortest time between two redraws of a bar, > 0.
        loss_window: the running training loss is the mean over the last this many steps.
    """

    def __init__(self, refresh_seconds: float = 0.25, loss_window: int = 20, **kwargs: Any):
        from lightning_module.utils.checks import require_int, require_number

        super().__init__(**kwargs)
        self.refresh_seconds = require_number("refresh_seconds", refresh_seconds, 0, low_open=True)
        self.loss_window = require_int("loss_window", loss_window, 1)
        self._last_redraw = -float("inf")

    def _should_update(self, current: int, total: int) -> bool:
        # every bar's batch-end hook asks this; True also at the last batch, so bars end full
        if not self.is_enabled:
            return False
        now = time.monotonic()
        if current == total or now - self._last_redraw >= self.refresh_seconds:
            self._last_redraw = now
            return True
        return False

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
