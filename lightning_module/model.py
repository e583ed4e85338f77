"""RecurrentClassifier: the practical's recurrent MNIST classifier as a LightningModule.

Shape legend: N batch, C classes, K kept misclassified examples.

One shared step serves train, validation and test: logits from ``SequenceClassifierNet``,
softmax cross-entropy plus the L2 term, all logged per epoch only. The training step logs
nothing and syncs nothing: it keeps references to each step's detached results, reduced once
at epoch end (``_keep_for_train_metrics``); torchmetrics run with ``validate_args=False``
because their argument checks read tensors back to the host.
"""

from __future__ import annotations

import os
from typing import Literal

import pytorch_lightning as pl
import torch
import torch.nn.functional as F
from torchmetrics.classification import MulticlassAccuracy, MulticlassConfusionMatrix

from lightning_module.augment import random_shift, validate_max_shift
from lightning_module.network import (
    IMAGE_SIDE,
    L2_SCOPES,
    Cell,
    GRUImpl,
    HeadInit,
    SequenceClassifierNet,
)
from lightning_module.training.checkpoint_io import CheckpointError, read_checkpoint
from lightning_module.training.figures import (
    confusion_figure,
    misclassified_figure,
    readout_figure,
    row_accuracy_figure,
)
from lightning_module.training.row_accuracy import RowAccuracy
from lightning_module.training.tb_logging import (
    add_figure,
    find_tensorboard_logger,
    log_hparams_with_metrics,
)
from lightning_module.utils.checks import require_choice, require_int, require_number
from lightning_module.utils.cpu_bf16 import warn_if_bf16_is_emulated
from lightning_module.utils.gpu_probe import skip_missing_nvml_probe

LR_SCHEDULES = ("constant", "plateau", "onecycle")
MAX_MISCLASSIFIED = 16  # examples kept per evaluation epoch for the TensorBoard grid
READOUT_EXAMPLES = 4  # test digits drawn with their per-step readout in TensorBoard
STAGES = ("train", "val", "test")
# The hyperparameters that decide the weights' shapes: named when a checkpoint does not fit.
ARCHITECTURE_HPARAMS = (
    "cell",
    "hidden_size",
    "num_layers",
    "num_classes",
    "pixels_per_step",
    "permute",
)
TRAIN_METRICS = ("train_loss", "train_data_loss", "train_l2", "train_acc")  # logged per epoch
VALIDATION_METRICS = ("val_loss", "val_data_loss", "val_l2", "val_acc")  # logged per validation
# Lightning writes the running hook's name into the module before and after every hook call,
# dozens of times a step: see RecurrentClassifier.__setattr__.
HOOK_NAME_ATTRIBUTE = "_current_fx_name"


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

    Args:
        cell: recurrent cell: "rnn" (nn.RNN, tanh), "gru" (nn.GRU) or "lstm" (nn.LSTM).
        hidden_size: hidden units per layer (the practical's ``memory_units``), >= 1.
        num_layers: stacked recurrent layers, >= 1.
        dropout: probability in [0, 1) of dropping each layer's output, the last one's included
            (the practical's DropoutWrapper with output_keep_prob = 1 - dropout); off in eval,
            where the practical left it on.
        num_classes: number of classes (10 for MNIST).
        pixels_per_step: pixels fed per time step; must divide 784 (28: row by row, 28 steps;
            1: pixel by pixel, 784 steps).
        permute: read the pixels in a fixed random order (permuted sequential MNIST); the order
            is saved in the checkpoint.
        permute_seed: seed of that order.
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
        head_init: "practical": N(0, 1) output weights and biases as the practical;
            "default": torch's nn.Linear init.
        tbptt_steps: truncated BPTT in training: detach the state every k steps (bounds memory
            on long sequences, e.g. pixels_per_step=1); None is full BPTT.
        gru_impl: GRU kernel: "auto" (FusedGRU on CPU, with its C++ recurrence where a
            compiler is found; cuDNN's nn.GRU on GPU), "fused" or "torch" (nn.GRU); all
            compute the same function with the same parameter names.
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
        self.net = SequenceClassifierNet(
            cell=cell,
            hidden_size=hidden_size,
            num_layers=num_layers,
            dropout=dropout,
            num_classes=num_classes,
            pixels_per_step=pixels_per_step,
            permute=permute,
            permute_seed=permute_seed,
            head_init=head_init,
            tbptt_steps=tbptt_steps,
            gru_impl=gru_impl,
        )
        metric_args = dict(num_classes=num_classes, average="micro", validate_args=False)
        # this epoch's (loss, data_loss, l2, logits, labels) per step: see _keep_for_train_metrics
        self._train_steps: list[tuple[torch.Tensor, ...]] = []
        self.val_acc = MulticlassAccuracy(**metric_args)
        self.test_acc = MulticlassAccuracy(**metric_args)
        confusion_args = dict(num_classes=num_classes, validate_args=False)
        self.val_confusion = MulticlassConfusionMatrix(**confusion_args)
        self.test_confusion = MulticlassConfusionMatrix(**confusion_args)
        self._misclassified: dict[str, list[tuple[torch.Tensor, ...]]] = {"val": [], "test": []}
        self.test_row_acc = RowAccuracy(self.net.num_steps)
        self._readout_examples: list[tuple[torch.Tensor, ...]] = []

    def __setattr__(self, name: str, value: object) -> None:
        # The hook name is a str or None, never a parameter, submodule or buffer, so storing it
        # directly is what nn.Module.__setattr__ would do after its isinstance checks for those.
        if name == HOOK_NAME_ATTRIBUTE:
            object.__setattr__(self, name, value)
        else:
            super().__setattr__(name, value)

    def setup(self, stage: str) -> None:
        # Runs before checkpoint restore and optimizer creation, so swapping the GRU kernel
        # for the trainer's device is safe.
        self.net.use_kernels_for(self.trainer.strategy.root_device)
        skip_missing_nvml_probe()  # Adam asks "is there a GPU?" every step: keep it cheap
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
        if self._draws_figures():
            self._collect_for_figures(stage, images, labels, logits.argmax(dim=1))
        return loss

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

    def validation_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> None:
        self._shared_step(batch, "val")

    def test_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> None:
        self._shared_step(batch, "test")

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

    # --- TensorBoard figures and hparams -------------------------------------------------------

    def _draws_figures(self) -> bool:
        # The same answer on every rank, so the confusion matrices stay in step under DDP.
        trainer = self._trainer
        return (
            trainer is not None
            and not trainer.sanity_checking
            and find_tensorboard_logger(trainer) is not None
        )

    def _collect_for_figures(
        self, stage: str, images: torch.Tensor, labels: torch.Tensor, predicted: torch.Tensor
    ) -> None:
        getattr(self, f"{stage}_confusion").update(predicted, labels)
        kept = self._misclassified[stage]
        room = MAX_MISCLASSIFIED - sum(len(item[0]) for item in kept)
        if room > 0:  # a host sync, but only in evaluation and only until the grid is full
            wrong = torch.nonzero(predicted != labels).squeeze(1)[:room]
            if len(wrong):
                kept.append((images[wrong].cpu(), labels[wrong].cpu(), predicted[wrong].cpu()))
        if stage == "test":
            self._collect_readouts(images, labels)

    def _collect_readouts(self, images: torch.Tensor, labels: torch.Tensor) -> None:
        probabilities, hidden = self.net.readout(images)
        self.test_row_acc.update(probabilities, labels)
        room = READOUT_EXAMPLES - sum(len(item[0]) for item in self._readout_examples)
        if room > 0:
            kept = (images[:room], probabilities[:room], hidden[:room], labels[:room])
            self._readout_examples.append(tuple(part.cpu() for part in kept))

    def _log_readouts(self) -> None:
        """The readout figures of a test epoch: accuracy after each step, and a few digits."""
        examples, self._readout_examples = self._readout_examples, []
        if not self.test_row_acc.update_called:
            return
        accuracy = self.test_row_acc.compute()  # collective under DDP: every rank computes
        self.test_row_acc.reset()
        if not self.trainer.is_global_zero:
            return
        cell = self.hparams.cell
        add_figure(
            self.trainer,
            "test/accuracy_by_step",
            row_accuracy_figure({cell: accuracy.tolist()}, "test accuracy of the readout"),
        )
        images, probabilities, hidden, labels = (
            torch.cat(parts) for parts in zip(*examples, strict=True)
        )
        add_figure(
            self.trainer,
            "test/readouts",
            readout_figure(
                images, probabilities, hidden, f"{cell}: what it would say after each step", labels
            ),
        )

    def _log_figures(self, stage: str) -> None:
        confusion = getattr(self, f"{stage}_confusion")
        kept = self._misclassified[stage]
        self._misclassified[stage] = []
        if not confusion.update_called:
            return
        matrix = confusion.compute()  # collective under DDP: every rank computes
        confusion.reset()
        if not self.trainer.is_global_zero:
            return
        epoch = self.current_epoch
        add_figure(
            self.trainer,
            f"{stage}/confusion_matrix",
            confusion_figure(matrix, f"{stage} confusion matrix (epoch {epoch})"),
        )
        if kept:
            images, labels, predicted = (torch.cat(parts) for parts in zip(*kept, strict=True))
        else:
            images = torch.zeros(0, IMAGE_SIDE, IMAGE_SIDE)
            labels = predicted = torch.zeros(0, dtype=torch.long)
        add_figure(
            self.trainer,
            f"{stage}/misclassified",
            misclassified_figure(
                images, labels, predicted, f"{stage} misclassified (true\u2192predicted)"
            ),
        )

    def on_validation_epoch_start(self) -> None:
        self._misclassified["val"] = []

    def on_test_epoch_start(self) -> None:
        self._misclassified["test"] = []
        self._readout_examples = []

    def on_validation_epoch_end(self) -> None:
        if self._draws_figures():
            self._log_figures("val")

    def on_test_epoch_end(self) -> None:
        if self._draws_figures():
            self._log_figures("test")
            self._log_readouts()

    def on_test_end(self) -> None:
        metrics = {
            f"hp/{name}": float(self.trainer.callback_metrics[name])
            for name in ("test_acc", "test_loss")
            if name in self.trainer.callback_metrics
        }
        best = getattr(self.trainer.checkpoint_callback, "best_model_score", None)
        if best is not None:
            metrics["hp/best_val_loss"] = float(best)
        if metrics:
            log_hparams_with_metrics(self.trainer, metrics)

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
                f"{name}={value!r} (the checkpoint has {saved[name]!r})"
                for name, value in kwargs.items()
                if name in ARCHITECTURE_HPARAMS and name in saved and saved[name] != value
            ]
            passed = f" You passed {', '.join(overrides)}." if overrides else ""
            raise CheckpointError(f"checkpoint {checkpoint_path}: {exc}{passed}") from None

    @classmethod
    def pretrained(cls, name: str) -> RecurrentClassifier:
        """A shipped pretrained model ("rnn", "gru", "lstm" or "practical"), on the CPU, in eval.

        Raises ``PretrainedModelError`` (a ``CheckpointError``) listing the known names for any
        other; ``lightning_module/pretrained/cards.json`` says how each was trained and scored.
        """
        from lightning_module.pretrained import pretrained_checkpoint

        model = cls.load_from_checkpoint(pretrained_checkpoint(name), map_location="cpu")
        model.net.use_kernels_for("cpu")
        return model.eval()

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
            f"{name}={hparams[name]!r} (this model: {self.hparams[name]!r})"
            for name in ARCHITECTURE_HPARAMS
            if name in hparams and name in self.hparams and hparams[name] != self.hparams[name]
        ]
        saved_with = f" It was saved with {', '.join(differences)}." if differences else ""
        more = len(problems) - 3
        shown = "; ".join(problems[:3]) + (f"; and {more} more" if more > 0 else "")
        raise CheckpointError(
            f"the checkpoint was saved from a different architecture: {shown}.{saved_with} "
            "Build the model with the checkpoint's settings (load_from_checkpoint does; on the "
            "command line pass that run's --config or the same --model.* options)."
        )
