"""Training throughput: samples per second spent in training batches, validation excluded."""

from __future__ import annotations

import time

import pytorch_lightning as pl
import torch
from pytorch_lightning.callbacks import Callback


def synchronized_now(device: torch.device) -> float:
    """``time.perf_counter()`` once the device has finished its queued work (CUDA is async)."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return time.perf_counter()


class TrainingSpeed(Callback):
    """Count training samples and the wall time of the training part of each epoch.

    The clock runs from the start of a training epoch to the start of its validation (or the
    epoch's end when there is none), so validation, checkpointing and figures are excluded. On a
    GPU the device is synchronised at those boundaries only (never per batch).

    Attributes:
        samples: training samples seen.
        seconds: training wall time in seconds.
    """

    def __init__(self) -> None:
        self.samples = 0
        self.seconds = 0.0
        self._started: float | None = None

    @property
    def samples_per_second(self) -> float:
        return self.samples / self.seconds if self.seconds > 0 else float("nan")

    def _now(self, pl_module: pl.LightningModule) -> float:
        return synchronized_now(pl_module.device)

    def _stop_clock(self, pl_module: pl.LightningModule) -> None:
        if self._started is not None:
            self.seconds += self._now(pl_module) - self._started
            self._started = None

    def on_train_epoch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._started = self._now(pl_module)

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        self.samples += len(batch[1])

    def on_validation_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._stop_clock(pl_module)

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._stop_clock(pl_module)
