"""Say how a fit that was stopped from outside (Ctrl-C, SIGTERM) can go on.

Lightning ends such a fit by raising through ``Trainer.fit`` (``SIGTERMException``, a
``SystemExit`` without a status, or ``sys.exit(1)`` after Ctrl-C) after calling every callback's
``on_exception``: this callback then prints one line naming the signal and either the checkpoint
a ``--ckpt_path last`` resume starts from or, when no epoch finished, that there is none.
"""

from __future__ import annotations

import signal
import sys
from pathlib import Path

import pytorch_lightning as pl
from pytorch_lightning.callbacks import Callback, ModelCheckpoint
from pytorch_lightning.trainer.states import TrainerFn
from pytorch_lightning.utilities.exceptions import SIGTERMException

from lightning_module.training.progress import own_line
from lightning_module.training.run_folders import LAST_CHECKPOINT_NAME

# The exit status of a fit ended by SIGTERM: the shell's convention for "killed by signal 15".
SIGTERM_EXIT_STATUS = 128 + signal.SIGTERM


def interrupting_signal(exception: BaseException) -> str | None:
    """The signal behind ``exception`` ("SIGTERM", "Ctrl-C"), or None for any other error."""
    if isinstance(exception, SIGTERMException):
        return "SIGTERM"
    if isinstance(exception, KeyboardInterrupt):
        return "Ctrl-C"
    return None


def last_checkpoint(trainer: pl.Trainer, filename: str) -> Path | None:
    """``<dirpath>/<filename>.ckpt`` of the first checkpoint callback that has written it."""
    for callback in trainer.checkpoint_callbacks:
        if isinstance(callback, ModelCheckpoint) and callback.dirpath is not None:
            path = Path(callback.dirpath) / f"{filename}{ModelCheckpoint.FILE_EXTENSION}"
            if path.is_file():
                return path
    return None


class InterruptReport(Callback):
    """Print how an interrupted fit resumes (or that it cannot), on global rank 0.

    Args:
        last_name: the file name (no extension) of the every-epoch checkpoint ``--ckpt_path
            last`` resumes from.
    """

    def __init__(self, last_name: str = LAST_CHECKPOINT_NAME) -> None:
        self.last_name = last_name

    def on_exception(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, exception: BaseException
    ) -> None:
        cause = interrupting_signal(exception)
        if cause is None or trainer.state.fn != TrainerFn.FITTING:
            return
        if not trainer.is_global_zero:
            return
        last = last_checkpoint(trainer, self.last_name)
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
        print(f"{own_line()}rnn-mnist: error: {message}", file=sys.stderr, flush=True)
