"""Say how a fit that was stopped from outside (Ctrl-C, SIGTERM) can go on.

Lightning ends such a fit by raising through ``Trainer.fit`` (``SIGTERMException``, a
``SystemExit`` without a status, or ``sys.exit(1)`` after Ctrl-C) after calling every callback's
``on_exception``: this callback then prints one line naming the signal and either the checkpoint
a ``--ckpt_path last`` resume starts from or, when no epoch finished, that there is none.
"""

from __future__ import annotations

import signal
from pathlib import Path

import pytorch_lightning as pl
from pytorch_lightning.callbacks import Callback, ModelCheckpoint
from pytorch_lightning.trainer.states import TrainerFn
from pytorch_lightning.utilities.exceptions import SIGTERMException

from lightning_module.training.progress import print_error
from lightning_module.training.run_folders import LAST_CHECKPOINT_FILE

# The exit status of a fit ended by SIGTERM: the shell's convention for "killed by signal 15".
SIGTERM_EXIT_STATUS = 128 + signal.SIGTERM


def interrupting_signal(exception: BaseException) -> str | None:
    """The signal behind ``exception`` ("SIGTERM", "Ctrl-C"), or None for any other error."""
    if isinstance(exception, SIGTERMException):
        return "SIGTERM"
    if isinstance(exception, KeyboardInterrupt):
        return "Ctrl-C"
    return None


def last_checkpoint(trainer: pl.Trainer) -> Path | None:
    """``<dirpath>/last.ckpt`` of the first checkpoint callback that has written it."""
    for callback in trainer.checkpoint_callbacks:
        if isinstance(callback, ModelCheckpoint) and callback.dirpath is not None:
            path = Path(callback.dirpath) / LAST_CHECKPOINT_FILE
            if path.is_file():
                return path
    return None


class InterruptReport(Callback):
    """Print how an interrupted fit resumes from its ``last.ckpt`` (or that it cannot), on
    global rank 0."""

    def on_exception(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, exception: BaseException
    ) -> None:
        cause = interrupting_signal(exception)
        if cause is None or trainer.state.fn != TrainerFn.FITTING:
            return
        if not trainer.is_global_zero:
            return
        last = last_checkpoint(trainer)
        if last is None:
            message = (
                f"fit interrupted ({cause}) before its first epoch finished: no checkpoint was "
                "written, so there is nothing to resume; start the fit again"
            )
        else:
            message = (
                f"fit interrupted ({cause}): resume with --ckpt_path last ({last} holds the last "
                "finished epoch)"
            )
        print_error(message)
