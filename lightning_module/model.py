"""RecurrentClassifier: the practical's recurrent MNIST classifier as a thin LightningModule.

Steps, loss, metrics, optimizers and checkpoint loading around ``SequenceClassifierNet``;
TensorBoard figures are a callback (``training.tensorboard_figures``).
Shape legend: N batch, C classes.

One shared step serves train, validation and test: logits from the network, softmax
cross-entropy plus the L2 term, all logged per epoch only. The training step keeps each step's
detached results and reduces them once at epoch end (``_keep_for_train_metrics``), so a step
never reads a value back from the device.
"""

from __future__ import annotations

import os
from typing import Literal

import pytorch_lightning as pl
import torch
import torch.nn.functional as F
from torchmetrics.classification import MulticlassAccuracy

from lightning_module.augment import random_shift, validate_max_shift
from lightning_module.network import (
    IMAGE_SIDE,
    L2_SCOPES,
    Cell,
    GRUImpl,
    HeadInit,
    SequenceClassifierNet,
)
from lightning_module.training.checkpoint_io import (
    CheckpointError,
    architecture_differences,
    read_checkpoint,
)
from lightning_module.utils.checks import require_choice, require_int, require_number
from lightning_module.utils.cpu_bf16 import warn_if_bf16_is_emulated

LR_SCHEDULES = ("constant", "plateau", "onecycle")
TRAIN_METRICS = ("train_loss", "train_data_loss", "train_l2", "train_acc")  # logged per epoch
VALIDATION_METRICS = ("val_loss", "val_data_loss", "val_l2", "val_acc")  # logged per validation
MONITORABLE = (*VALIDATION_METRICS, *TRAIN_METRICS)  # what a callback may monitor
NETWORK_ARGS = (
    "cell",
    "hidden_size",
    "num_layers",
    "dropout",
    "num_classes",
    "pixels_per_step",
    "permute",
    "permute_seed",
    "head_init",
    "tbptt_steps",
    "gru_impl",
)


def validate_training_args(
    l2_lambda: float,
    l2_scope: str,
    lr: float,
    lr_schedule: str,
    plateau_factor: float,
    plateau_patience: int,
) -> None:
    """Raise ValueError naming the first training argument that is out of range."""
    require_number("l2_lambda", l2_lambda, 0)
    require_choice("l2_scope", l2_scope, L2_SCOPES)
    require_number("lr", lr, 0, low_open=True)
    require_choice("lr_schedule", lr_schedule, LR_SCHEDULES)
    require_number("plateau_factor", plateau_factor, 0, 1, low_open=True, high_open=True)
    require_int("plateau_patience", plateau_patience, 0)


class RecurrentClassifier(pl.LightningModule):
    """Classify MNIST digits read as a sequence by an RNN, GRU or LSTM (the practical's model).

    The network arguments (``cell`` to ``permute_seed``, ``head_init``, ``tbptt_steps``,
    ``gru_impl``) go to :class:`~lightning_module.network.SequenceClassifierNet`; their
    descriptions below are its docstring's, copied in when this module is imported so that
    ``rnn-mnist --help`` shows them too.

    Args:
        l2_lambda: weight of the L2 term l2_lambda * 1/2 ||W||^2 (tf.nn.l2_loss), >= 0; the
            practical used 1e-3 on the output weights.
        l2_scope: "output": the head's weight matrix only (the practical); "all": every weight
            matrix, recurrent ones included (never biases).
        lr: Adam's learning rate, > 0 (the practical used Adam's default 1e-3).
        lr_schedule: "constant"; "plateau": multiply lr by ``plateau_factor`` when val_loss
            has not improved for ``plateau_patience`` epochs; or "onecycle" (Smith & Topin
            2019): per step, warm up from lr / 25 to lr over the first quarter of the fit, then
            anneal (cosine) to lr / 1e4 at its end, the fit's length being ``max_epochs``.
        plateau_factor: lr decay factor in (0, 1) for the "plateau" schedule.
        plateau_patience: epochs without val_loss improvement before decaying, >= 0.
        augment_shift: in training, translate each image by a random (dy, dx) of at most this
            many pixels (zero fill); 0 (the practical) turns augmentation off.
    """

    def __init__(
        self,
        cell: Cell = "lstm",
        hidden_size: int = 128,
        num_layers: int = 1,
        dropout: float = 0.0,
        num_classes: int = 10,
        pixels_per_step: int = IMAGE_SIDE,
        permute: bool = False,
        permute_seed: int = 0,
        l2_lambda: float = 0.0,
        l2_scope: Literal["output", "all"] = "output",
        lr: float = 1e-3,
        lr_schedule: Literal["constant", "plateau", "onecycle"] = "constant",
        plateau_factor: float = 0.5,
        plateau_patience: int = 1,
        head_init: HeadInit = "default",
        tbptt_steps: int | None = None,
        gru_impl: GRUImpl = "auto",
        augment_shift: int = 0,
    ) -> None:
        super().__init__()
        validate_max_shift(augment_shift)
        validate_training_args(
            l2_lambda, l2_scope, lr, lr_schedule, plateau_factor, plateau_patience
        )
        self.save_hyperparameters()
        self.net = SequenceClassifierNet(**{name: self.hparams[name] for name in NETWORK_ARGS})
        metric_args = dict(num_classes=num_classes, average="micro", validate_args=False)
        # this epoch's (loss, data_loss, l2, logits, labels) per step: see _keep_for_train_metrics
        self._train_steps: list[tuple[torch.Tensor, ...]] = []
        self.val_acc = MulticlassAccuracy(**metric_args)
        self.test_acc = MulticlassAccuracy(**metric_args)

    def setup(self, stage: str) -> None:
        # Runs before checkpoint restore and optimizer creation, so swapping the GRU kernel
        # for the trainer's device is safe.
        self.net.use_kernels_for(self.trainer.strategy.root_device)
        warn_if_bf16_is_emulated(self.trainer.precision, self.trainer.strategy.root_device)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Images (N, 28, 28) in [0, 1] -> logits (N, C)."""
        return self.net(images)

    def training_inputs(self, images: torch.Tensor) -> torch.Tensor:
        """(N, 28, 28) images -> the same, randomly shifted in training mode (``augment_shift``)."""
        if not self.training or self.hparams.augment_shift == 0:
            return images
        return random_shift(images, self.hparams.augment_shift)

    def l2_weights(self) -> list[torch.nn.Parameter]:
        """The weight matrices the L2 term covers (see ``l2_scope``)."""
        return self.net.l2_weights(self.hparams.l2_scope)

    def l2_term(self) -> torch.Tensor:
        """l2_lambda * 1/2 * sum of squared entries of ``l2_weights()`` (a scalar tensor)."""
        return self.net.l2_penalty(self.hparams.l2_scope, self.hparams.l2_lambda)

    def _shared_step(self, batch: tuple[torch.Tensor, torch.Tensor], stage: str) -> torch.Tensor:
        images, labels = batch
        if stage == "train":
            images = self.training_inputs(images)
        logits = self(images)
        data_loss = F.cross_entropy(logits, labels)
        l2 = self.l2_term()
        loss = data_loss + l2
        if stage == "train":
            self._keep_for_train_metrics(loss, data_loss, l2, logits, labels)
            return loss
        size = labels.shape[0]
        for name, value in (
            (f"{stage}_loss", loss),
            (f"{stage}_data_loss", data_loss),
            (f"{stage}_l2", l2),
        ):
            self.log(name, value, on_step=False, on_epoch=True, sync_dist=True, batch_size=size)
        accuracy = getattr(self, f"{stage}_acc")
        accuracy.update(logits, labels)
        self.log(f"{stage}_acc", accuracy, on_step=False, on_epoch=True, batch_size=size)
        return logits  # for callbacks' on_*_batch_end (the TensorBoard figures)

    def _keep_for_train_metrics(
        self,
        loss: torch.Tensor,
        data_loss: torch.Tensor,
        l2: torch.Tensor,
        logits: torch.Tensor,
        labels: torch.Tensor,
    ) -> None:
        # A per-step self.log re-walks Lightning's record of the metric on every call, and
        # summing on the device is a dozen small ops per step; a reference to each detached
        # tensor costs neither. on_train_epoch_end reduces them all at once into the same
        # batch-weighted means that per-step logging gives (the epoch's logits are small).
        self._train_steps.append(
            (loss.detach(), data_loss.detach(), l2.detach(), logits.detach(), labels)
        )

    def recent_train_loss(self, steps: int) -> float | None:
        """Mean training loss of this epoch's last ``steps`` steps (None before the first).

        Reads the losses back from the device: for displays that refresh now and then, not for
        every step.
        """
        kept = self._train_steps[-steps:]
        if not kept:
            return None
        return torch.stack([step[0] for step in kept]).mean().item()

    def on_train_epoch_start(self) -> None:
        self._train_steps = []

    def on_train_epoch_end(self) -> None:
        steps, self._train_steps = self._train_steps, []
        if not steps:
            return
        losses, data_losses, l2s, logits, labels = zip(*steps, strict=True)
        sizes = torch.tensor([len(y) for y in labels], device=losses[0].device)
        count = int(sizes.sum())
        sums = [(torch.stack(values) * sizes).sum() for values in (losses, data_losses, l2s)]
        correct = (torch.cat(logits).argmax(dim=1) == torch.cat(labels)).sum()
        # batch_size=count + sync_dist: under DDP, Lightning sums value * count and count over
        # ranks, so these are the exact means over every rank's samples.
        for name, total in zip(TRAIN_METRICS, [*sums, correct], strict=True):
            self.log(
                name,
                total.to(losses[0].dtype) / count,
                on_step=False,
                on_epoch=True,
                sync_dist=True,
                batch_size=count,
            )

    def training_step(
        self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int
    ) -> torch.Tensor:
        return self._shared_step(batch, "train")

    def validation_step(
        self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int
    ) -> torch.Tensor:
        """Log the validation metrics; return the logits (N, C)."""
        return self._shared_step(batch, "val")

    def test_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> torch.Tensor:
        """Log the test metrics; return the logits (N, C)."""
        return self._shared_step(batch, "test")

    def predict_step(
        self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int
    ) -> dict[str, torch.Tensor]:
        """Batch (images (N, 28, 28), indices (N,)) -> {"index": (N,), "probabilities": (N, C)}."""
        images, indices = batch
        return {"index": indices, "probabilities": torch.softmax(self(images), dim=1)}

    def configure_optimizers(self):
        optimizer = torch.optim.Adam(self.parameters(), lr=self.hparams.lr)
        if self.hparams.lr_schedule == "constant":
            return optimizer
        if self.hparams.lr_schedule == "onecycle":
            # warm up to lr over the first quarter, then cosine down to lr / 1e4, over the
            # whole fit: max_epochs (or max_steps) sets the schedule's length
            onecycle = torch.optim.lr_scheduler.OneCycleLR(
                optimizer,
                max_lr=self.hparams.lr,
                total_steps=int(self.trainer.estimated_stepping_batches),
                pct_start=0.25,
            )
            return {
                "optimizer": optimizer,
                "lr_scheduler": {"scheduler": onecycle, "interval": "step"},
            }
        scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
            optimizer,
            mode="min",
            factor=self.hparams.plateau_factor,
            patience=self.hparams.plateau_patience,
        )
        return {
            "optimizer": optimizer,
            "lr_scheduler": {"scheduler": scheduler, "monitor": "val_loss", "interval": "epoch"},
        }

    # --- checkpoints: weights-only loading, and a clear error when one does not fit ------------

    @classmethod
    def load_from_checkpoint(
        cls,
        checkpoint_path: str | os.PathLike,
        map_location=None,
        hparams_file: str | os.PathLike | None = None,
        strict: bool | None = None,
        **kwargs,
    ) -> RecurrentClassifier:
        """Lightning's ``load_from_checkpoint``, always with ``weights_only=True``.

        ``kwargs`` override the saved hyperparameters. Raises ``CheckpointError`` naming the
        file when it is missing, truncated, corrupt, unsafe (objects other than tensors and
        plain values), not a Lightning checkpoint, or saved from a different architecture.
        """
        if kwargs.pop("weights_only", True) is not True:
            raise ValueError("RecurrentClassifier checkpoints are always loaded with weights_only")
        # The clear errors for unreadable files first; Lightning's own load below then succeeds.
        saved = read_checkpoint(checkpoint_path).get(cls.CHECKPOINT_HYPER_PARAMS_KEY) or {}
        try:
            return super().load_from_checkpoint(
                checkpoint_path,
                map_location=map_location,
                hparams_file=hparams_file,
                strict=strict,
                weights_only=True,
                **kwargs,
            )
        except CheckpointError as exc:
            overrides = [
                f"{name}={asked!r} (the checkpoint has {value!r})"
                for name, asked, value in architecture_differences(saved, kwargs)
            ]
            passed = f" You passed {', '.join(overrides)}." if overrides else ""
            raise CheckpointError(f"checkpoint {checkpoint_path}: {exc}{passed}") from None

    @classmethod
    def pretrained(cls, name: str) -> RecurrentClassifier:
        """A shipped pretrained model: see :func:`lightning_module.pretrained.load_pretrained`."""
        from lightning_module.pretrained import load_pretrained

        return load_pretrained(name)

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        """Refuse a checkpoint whose weights do not fit this model, naming what differs."""
        saved = checkpoint.get("state_dict")
        if not isinstance(saved, dict):
            raise CheckpointError("not a Lightning checkpoint (no 'state_dict' entry)")
        own = self.state_dict()
        problems = [f"{name} is missing" for name in own if name not in saved]
        problems += [f"{name} is not part of this model" for name in saved if name not in own]
        problems += [
            f"{name} has shape {tuple(saved[name].shape)} there but {tuple(own[name].shape)} here"
            for name in own
            if name in saved and getattr(saved[name], "shape", None) != own[name].shape
        ]
        if not problems:
            return
        hparams = checkpoint.get(self.CHECKPOINT_HYPER_PARAMS_KEY) or {}
        differences = [
            f"{name}={value!r} (this model: {own!r})"
            for name, own, value in architecture_differences(hparams, dict(self.hparams))
        ]
        saved_with = f" It was saved with {', '.join(differences)}." if differences else ""
        more = len(problems) - 3
        shown = "; ".join(problems[:3]) + (f"; and {more} more" if more > 0 else "")
        raise CheckpointError(
            f"the checkpoint was saved from a different architecture: {shown}.{saved_with} "
            "Build the model with the checkpoint's settings (load_from_checkpoint does; on the "
            "command line pass that run's --config or the same --model.* options)."
        )


def _with_network_args(doc: str) -> str:
    """``doc`` with the Args entries of SequenceClassifierNet's docstring at the top of its own."""
    network = SequenceClassifierNet.__doc__ or ""
    entries = network[network.index("    Args:\n") + len("    Args:\n") :].rstrip() + "\n"
    return doc.replace("    Args:\n", "    Args:\n" + entries, 1)


RecurrentClassifier.__doc__ = _with_network_args(RecurrentClassifier.__doc__ or "")
