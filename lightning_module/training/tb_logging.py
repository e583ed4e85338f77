"""TensorBoard-only extras: figures and the hparams tab, written by rank 0 only.

Every function here is a no-op unless the trainer logs to a ``TensorBoardLogger`` (so runs
without a logger, or with ``fast_dev_run``'s dummy logger, never fail on them).
"""

from __future__ import annotations

from typing import Any

import pytorch_lightning as pl
from matplotlib.figure import Figure
from pytorch_lightning.loggers import TensorBoardLogger


def find_tensorboard_logger(trainer: pl.Trainer) -> TensorBoardLogger | None:
    """The trainer's first TensorBoardLogger, or None (the same answer on every rank)."""
    for logger in trainer.loggers:
        if isinstance(logger, TensorBoardLogger):
            return logger
    return None


def add_figure(trainer: pl.Trainer, tag: str, figure: Figure) -> None:
    """Write ``figure`` under ``tag`` at the current global step (rank 0, TensorBoard only)."""
    logger = find_tensorboard_logger(trainer)
    if logger is None or not trainer.is_global_zero:
        return
    logger.experiment.add_figure(tag, figure, global_step=trainer.global_step, close=True)


def log_hparams_with_metrics(trainer: pl.Trainer, metrics: dict[str, Any]) -> None:
    """Fill TensorBoard's hparams tab: the run's hyperparameters with its final ``metrics``.

    Args:
        trainer: the trainer whose logger already holds the hyperparameters (Lightning logs the
            model's and data module's at the start of fit/validate/test).
        metrics: final values, e.g. ``{"hp/test_acc": 0.99}``; their names must differ from the
            per-epoch curves since TensorBoard also records them as scalars.
    """
    logger = find_tensorboard_logger(trainer)
    if logger is None or not trainer.is_global_zero:
        return
    logger.log_hyperparams(dict(logger.hparams), metrics=metrics, step=trainer.global_step)
    logger.experiment.flush()
