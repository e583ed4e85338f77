"""The TensorBoard figures of a RecurrentClassifier's evaluations, as a callback.

Per validation and test epoch: the confusion matrix and a grid of misclassified digits; per test
epoch also the readout (accuracy after every step, and a few digits read step by step) and the
hparams tab with the final metrics. Nothing is drawn without a ``TensorBoardLogger``.
Shape legend: N batch, C classes.
"""

from __future__ import annotations

from typing import Any

import pytorch_lightning as pl
import torch
from torchmetrics.classification import MulticlassConfusionMatrix

from lightning_module.network import IMAGE_SIDE
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

STAGES = ("val", "test")


class TensorBoardFigures(pl.Callback):
    """Draw a RecurrentClassifier's evaluation figures into TensorBoard.

    Reads the logits that ``validation_step`` / ``test_step`` return; the metrics it keeps
    (confusion matrices, per-step readout accuracy) are torchmetrics, so under DDP every rank
    adds its counts and rank 0 draws.

    Args:
        max_misclassified: misclassified digits kept per evaluation epoch for the grid, >= 0.
        readout_examples: test digits drawn with their per-step readout, >= 0.
    """

    def __init__(self, max_misclassified: int = 16, readout_examples: int = 4) -> None:
        from lightning_module.utils.checks import require_int

        super().__init__()
        self.max_misclassified = require_int("max_misclassified", max_misclassified, 0)
        self.readout_examples = require_int("readout_examples", readout_examples, 0)
        self.confusion: dict[str, MulticlassConfusionMatrix] = {}
        self.row_accuracy: RowAccuracy | None = None
        self.misclassified: dict[str, list[tuple[torch.Tensor, ...]]] = {s: [] for s in STAGES}
        self.readouts: list[tuple[torch.Tensor, ...]] = []

    def setup(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        classes = pl_module.hparams.num_classes
        self.confusion = {
            s: MulticlassConfusionMatrix(classes, validate_args=False).to(pl_module.device)
            for s in STAGES
        }
        self.row_accuracy = RowAccuracy(pl_module.net.num_steps).to(pl_module.device)

    @staticmethod
    def _draws(trainer: pl.Trainer) -> bool:
        # the same answer on every rank, so the metrics stay in step under DDP
        return not trainer.sanity_checking and find_tensorboard_logger(trainer) is not None

    # -- collecting ------------------------------------------------------------------------

    def _collect(self, stage: str, trainer, pl_module, logits: Any, batch: Any) -> None:
        if not self._draws(trainer) or not isinstance(logits, torch.Tensor):
            return
        images, labels = batch
        predicted = logits.argmax(dim=1)
        self.confusion[stage].update(predicted, labels)
        kept = self.misclassified[stage]
        room = self.max_misclassified - sum(len(item[0]) for item in kept)
        if room > 0:  # a host sync, but only until the grid is full
            wrong = torch.nonzero(predicted != labels).squeeze(1)[:room]
            if len(wrong):
                kept.append((images[wrong].cpu(), labels[wrong].cpu(), predicted[wrong].cpu()))
        if stage == "test":
            with torch.no_grad():
                probabilities, hidden = pl_module.net.readout(images)
            self.row_accuracy.update(probabilities, labels)
            room = self.readout_examples - sum(len(item[0]) for item in self.readouts)
            if room > 0:
                parts = (images[:room], probabilities[:room], hidden[:room], labels[:room])
                self.readouts.append(tuple(part.float().cpu() for part in parts))

    def on_validation_batch_end(self, trainer, pl_module, outputs, batch, batch_idx, dl_idx=0):
        self._collect("val", trainer, pl_module, outputs, batch)

    def on_test_batch_end(self, trainer, pl_module, outputs, batch, batch_idx, dl_idx=0):
        self._collect("test", trainer, pl_module, outputs, batch)

    def on_validation_epoch_start(self, trainer, pl_module) -> None:
        self.misclassified["val"] = []

    def on_test_epoch_start(self, trainer, pl_module) -> None:
        self.misclassified["test"] = []
        self.readouts = []

    # -- drawing ---------------------------------------------------------------------------

    def on_validation_epoch_end(self, trainer, pl_module) -> None:
        if self._draws(trainer):
            self._draw_evaluation("val", trainer)

    def on_test_epoch_end(self, trainer, pl_module) -> None:
        if self._draws(trainer):
            self._draw_evaluation("test", trainer)
            self._draw_readouts(trainer, pl_module.hparams.cell)

    def _draw_evaluation(self, stage: str, trainer: pl.Trainer) -> None:
        confusion = self.confusion[stage]
        kept, self.misclassified[stage] = self.misclassified[stage], []
        if not confusion.update_called:
            return
        matrix = confusion.compute()  # collective under DDP: every rank computes
        confusion.reset()
        if not trainer.is_global_zero:
            return
        epoch = trainer.current_epoch
        add_figure(
            trainer,
            f"{stage}/confusion_matrix",
            confusion_figure(matrix, f"{stage} confusion matrix (epoch {epoch})"),
        )
        if kept:
            images, labels, predicted = (torch.cat(parts) for parts in zip(*kept, strict=True))
        else:
            images = torch.zeros(0, IMAGE_SIDE, IMAGE_SIDE)
            labels = predicted = torch.zeros(0, dtype=torch.long)
        title = f"{stage} misclassified (true\u2192predicted)"
        add_figure(
            trainer,
            f"{stage}/misclassified",
            misclassified_figure(images, labels, predicted, title),
        )

    def _draw_readouts(self, trainer: pl.Trainer, cell: str) -> None:
        examples, self.readouts = self.readouts, []
        if not self.row_accuracy.update_called:
            return
        accuracy = self.row_accuracy.compute()  # collective under DDP: every rank computes
        self.row_accuracy.reset()
        if not trainer.is_global_zero:
            return
        add_figure(
            trainer,
            "test/accuracy_by_step",
            row_accuracy_figure({cell: accuracy.tolist()}, "test accuracy of the readout"),
        )
        if not examples:
            return
        images, probabilities, hidden, labels = (
            torch.cat(parts) for parts in zip(*examples, strict=True)
        )
        title = f"{cell}: what it would say after each step"
        add_figure(
            trainer,
            "test/readouts",
            readout_figure(images, probabilities, hidden, title, labels),
        )

    def on_test_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        metrics = {
            f"hp/{name}": float(trainer.callback_metrics[name])
            for name in ("test_acc", "test_loss")
            if name in trainer.callback_metrics
        }
        best = getattr(trainer.checkpoint_callback, "best_model_score", None)
        if best is not None:
            metrics["hp/best_val_loss"] = float(best)
        if metrics:
            log_hparams_with_metrics(trainer, metrics)
