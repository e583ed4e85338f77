"""Training callbacks for exact resumes and for stopping diverged runs safely.

``EpochSeed`` reseeds torch's global random generator at the first batch of every epoch from
(the fit's seed, the epoch). Lightning checkpoints do not hold the generator's state, so without
this a run resumed with ``--ckpt_path last`` would draw different dropout masks than the
uninterrupted run; with it, epoch e's masks depend on the seed and e alone, like the data order
(``data.samplers.EpochShuffleSampler``), and the resumed run equals the uninterrupted one bit for
bit on CPU with ``deterministic=True``.

Stop a diverging run before it overwrites a good checkpoint with non-finite weights:

``NonFiniteLossGuard`` watches every training loss on the device and raises
``NonFiniteLossError`` (naming the first bad global step, the epoch and the likely causes) at the
next point where the host reads results back anyway: before each validation and at the end of
each training epoch; it also checks the validation loss after each validation (weights can
overflow in the update after the last finite training loss). All of these come before the
epoch's checkpoints are written (Lightning runs checkpoint callbacks last), so ``last.ckpt`` and
``best.ckpt`` keep the last finished epoch's finite weights.

Why not stop on the very step: reading the loss back every step (``if not loss.isfinite()``)
syncs host and device on every step, which the training step avoids on purpose. The guard
keeps each step's detached loss (a reference, no kernel, no sync) and tests them all with one
``isfinite`` at the next check; the price is that the rest of that epoch runs on (wasted, but it
writes nothing), and the message still names the first bad step exactly.
"""

from __future__ import annotations

import numpy as np
import pytorch_lightning as pl
import torch
from pytorch_lightning.callbacks import Callback

NO_STEP = torch.iinfo(torch.int64).max  # "no non-finite loss yet"


class EpochSeed(Callback):
    """Reseed torch's global generator at each epoch's first batch from (fit seed, epoch).

    The fit seed is ``torch.initial_seed()`` at fit start, i.e. ``seed_everything``'s seed.
    """

    def __init__(self) -> None:
        self._fit_seed = 0

    def on_fit_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._fit_seed = torch.initial_seed()

    def on_train_batch_start(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, batch, batch_idx: int
    ) -> None:
        if batch_idx != 0:
            return
        # SeedSequence mixes the pair, so (seed s, epoch e + 1) does not repeat (s + 1, e).
        words = np.random.SeedSequence([self._fit_seed, trainer.current_epoch]).generate_state(2)
        torch.manual_seed(int(words[0]) << 32 | int(words[1]))


class NonFiniteLossError(FloatingPointError):
    """The training loss became NaN or infinite (the run diverged)."""


class NonFiniteLossGuard(Callback):
    """Raise ``NonFiniteLossError`` before any checkpoint of a diverged epoch is written.

    Checks the training loss of every step (read back before validation and at epoch end) and
    the validation loss ``monitor`` after each validation (ModelCheckpoint runs after this).

    Args:
        monitor: the validation metric to check after each validation.
    """

    def __init__(self, monitor: str = "val_loss") -> None:
        self.monitor = monitor
        self._losses: list[torch.Tensor] = []  # detached 0-d losses since the last check
        self._steps: list[int] = []  # their global steps
        self._batch_step = 0

    def on_train_epoch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._losses, self._steps = [], []

    def on_train_batch_start(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, batch, batch_idx: int
    ) -> None:
        self._batch_step = trainer.global_step  # by batch end it may count this batch's step

    def on_train_batch_end(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, outputs, batch, batch_idx: int
    ) -> None:
        loss = outputs.get("loss") if isinstance(outputs, dict) else outputs
        if not isinstance(loss, torch.Tensor):
            return
        self._losses.append(loss.detach())
        self._steps.append(self._batch_step)

    def on_validation_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if not trainer.sanity_checking:
            self._check_training_losses(trainer, pl_module)

    def on_validation_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        value = trainer.callback_metrics.get(self.monitor)
        if trainer.sanity_checking or value is None or bool(torch.isfinite(value).all()):
            return
        raise NonFiniteLossError(
            f"{self.monitor} is not finite ({float(value)}) after epoch {trainer.current_epoch} "
            f"(global step {trainer.global_step}): the weights diverged in training. "
            + self._causes_and_state(trainer, pl_module)
        )

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._check_training_losses(trainer, pl_module)

    def _check_training_losses(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if not self._losses:
            return
        # One host read per validation/epoch; the minimum over ranks so all ranks agree.
        losses = torch.stack(self._losses)
        bad = (~torch.isfinite(losses)).nonzero()
        local = torch.tensor(
            self._steps[int(bad[0])] if len(bad) else NO_STEP, device=losses.device
        )
        self._losses, self._steps = [], []
        step = int(pl_module.all_gather(local).min())
        if step == NO_STEP:
            return
        raise NonFiniteLossError(
            f"training loss is not finite (NaN or inf) at global step {step} (epoch "
            f"{trainer.current_epoch}): the run diverged. "
            + self._causes_and_state(trainer, pl_module)
        )

    @staticmethod
    def _causes_and_state(trainer: pl.Trainer, pl_module: pl.LightningModule) -> str:
        lr = getattr(getattr(pl_module, "hparams", None), "lr", None)
        causes = [
            f"the learning rate is too high (lr={lr}; try 10x lower)"
            if lr is not None
            else "the learning rate is too high"
        ]
        if not trainer.gradient_clip_val:
            causes.append("no gradient clipping (try --trainer.gradient_clip_val 1.0)")
        causes.append("non-finite input data")
        return (
            f"Likely causes: {'; '.join(causes)}. Stopped before this epoch's checkpoints, so "
            "the last checkpoint (if any) holds the last finished epoch's finite weights"
        )
