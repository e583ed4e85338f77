"""Keeps ``<root>/latest`` on the newest run that holds a checkpoint while a fit writes its
first ones, and after the fit ends, however it ends (``run_folders.point_latest``)."""

from __future__ import annotations

import os

import pytorch_lightning as pl
from pytorch_lightning.callbacks import Callback

from lightning_module.training.run_folders import point_latest


class LatestRunLink(Callback):
    """Re-point ``root/latest`` at each epoch's start (the last epoch's checkpoints are written
    by then), at the end of training and when the fit fails or is interrupted.

    Args:
        root: the folder holding the config's runs (``run_folders.run_root``).
    """

    def __init__(self, root: str | os.PathLike) -> None:
        self.root = root

    def _point(self, trainer: pl.Trainer) -> None:
        if trainer.is_global_zero:
            point_latest(self.root)

    def on_train_epoch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._point(trainer)

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._point(trainer)

    def on_exception(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, exception: BaseException
    ) -> None:
        self._point(trainer)
