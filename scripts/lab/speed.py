"""Training throughput (samples per second spent in training batches, validation excluded),
the device-synchronised clock it uses, and the machine's fp32 matmul peak."""

from __future__ import annotations

import json
import math
import time

import pytorch_lightning as pl
import torch
from pytorch_lightning.callbacks import Callback

from lightning_module.utils.atomic import atomic_write_text
from lightning_module.utils.checks import require_int


def synchronized_now(device: torch.device) -> float:
    """``time.perf_counter()`` once the device has finished its queued work (CUDA is async)."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return time.perf_counter()


def peak_device() -> str:
    """Where ``rnn-mnist fit`` trains by default (``accelerator="auto"``): "cuda" when torch sees
    a GPU, else "cpu"; so the peak is measured where the runs it is reported with trained."""
    return "cuda" if torch.cuda.is_available() else "cpu"


def measure_matmul_peak(size: int = 2048, repeats: int = 5, device: str = "cpu") -> float:
    """Best fp32 ``torch.mm`` rate over ``repeats`` products of two (size, size) matrices, GFLOP/s.

    The best rather than the median: a peak is what the hardware can do when nothing interferes.
    """
    require_int("size", size, 1)
    require_int("repeats", repeats, 1)
    device = torch.device(device)
    generator = torch.Generator().manual_seed(0)
    a = torch.rand(size, size, generator=generator).to(device)
    b = torch.rand(size, size, generator=generator).to(device)
    torch.mm(a, b)  # untimed: first-call allocation and kernel selection
    best = math.inf
    for _ in range(repeats):
        start = synchronized_now(device)
        torch.mm(a, b)
        best = min(best, synchronized_now(device) - start)
    return 2 * size**3 / best / 1e9


class TrainingSpeed(Callback):
    """Count training samples and the wall time of the training part of each epoch.

    The clock runs from the start of a training epoch (or, for the first ``warmup`` batches of
    the fit, from the end of the last of them) to the start of its validation (or the epoch's
    end when there is none), so warm-up, validation, checkpointing and figures are excluded. A
    step is timed from the end of the one before to the end of its own batch: the batch fetch,
    Lightning's loop and every callback count. On a GPU the device is synchronised at those
    boundaries only, never per batch.

    Given as ``--trainer.callbacks+={"class_path": "lab.speed.TrainingSpeed", ...}``, it times
    an ``rnn-mnist fit`` process from outside the package.

    Args:
        warmup: training batches at the start of the fit left out of the figures.
        report: where to write ``{"samples", "seconds", "batches"}`` (JSON) when the fit ends;
            None writes nothing.

    Attributes:
        samples: training samples timed.
        seconds: training wall time timed, in seconds.
        batches: training batches seen, warm-up included.
    """

    def __init__(self, warmup: int = 0, report: str | None = None) -> None:
        self.warmup = require_int("warmup", warmup, 0)
        self.report = report
        self.samples = 0
        self.seconds = 0.0
        self.batches = 0
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
        if self.batches >= self.warmup:
            self._started = self._now(pl_module)

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        self.batches += 1
        if self.batches > self.warmup:
            self.samples += len(batch[1])
        elif self.batches == self.warmup:
            self._started = self._now(pl_module)

    def on_validation_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._stop_clock(pl_module)

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._stop_clock(pl_module)

    def on_fit_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if self.report is not None:
            figures = {"samples": self.samples, "seconds": self.seconds, "batches": self.batches}
            atomic_write_text(self.report, json.dumps(figures) + "\n")
