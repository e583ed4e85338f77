"""Write predictions to a CSV file: one row per image, unreadable images included with the reason.

Shape legend: N batch, C classes.

Columns: ``source`` (test-set index or image path relative to the folder), ``prediction``
(digit), ``probability`` (its softmax probability), ``label`` (only when the data module knows
the labels, e.g. the test set) and ``error`` (empty, or why the image could not be read).
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytorch_lightning as pl
import torch
from pytorch_lightning.callbacks import BasePredictionWriter

from lightning_module.utils.atomic import atomic_write_text


class PredictionCSVWriter(BasePredictionWriter):
    """Collect ``predict_step`` outputs and write them as one CSV file at the end of predict.

    Args:
        output: path of the CSV file, written atomically (the folder is created if needed).
    """

    def __init__(self, output: str = "predictions.csv") -> None:
        super().__init__(write_interval="batch")
        self.output = Path(output)
        self._parts: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = []
        self.rows_written = 0
        self.failures: list[tuple[str, str]] = []
        self.written = False

    def setup(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        if stage != "predict":
            return
        if trainer.world_size > 1:
            raise ValueError(
                "predict writes one CSV file from one process: run it with --trainer.devices 1 "
                f"(got world_size={trainer.world_size})"
            )
        self._parts = []
        self.written = False

    def on_predict_epoch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._parts = []

    def write_on_batch_end(
        self, trainer, pl_module, prediction, batch_indices, batch, batch_idx, dataloader_idx=0
    ) -> None:
        probability, predicted = prediction["probabilities"].max(dim=1)
        self._parts.append((prediction["index"].cpu(), predicted.cpu(), probability.float().cpu()))

    def on_predict_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.write(trainer.datamodule)

    def write(self, datamodule: pl.LightningDataModule) -> None:
        """Write the CSV from the collected batches and the data module's names and failures.

        Called at the end of predict; call it directly when predict had no batch to run (a
        folder of only unreadable files), since Lightning then skips the epoch hooks.
        """
        names: list[str] = list(datamodule.predict_names)
        labels = getattr(datamodule, "predict_labels", None)
        self.failures = list(getattr(datamodule, "predict_failures", []) or [])
        text = self.render(names, labels, self.failures)
        atomic_write_text(self.output, text)
        self.rows_written = sum(len(part[0]) for part in self._parts) + len(self.failures)
        self._parts = []
        self.written = True

    def render(
        self, names: list[str], labels: list[int] | None, failures: list[tuple[str, str]]
    ) -> str:
        """The CSV text: classified images in data order, then the failures."""
        columns = ["source", "prediction", "probability"]
        if labels is not None:
            columns.append("label")
        columns.append("error")
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(columns)
        if self._parts:
            indices, predicted, probability = (
                torch.cat(parts) for parts in zip(*self._parts, strict=True)
            )
            order = torch.argsort(indices)
            for i in order.tolist():
                index = int(indices[i])
                row = [names[index], int(predicted[i]), f"{float(probability[i]):.6f}"]
                if labels is not None:
                    row.append(labels[index])
                writer.writerow([*row, ""])
        for name, reason in failures:
            row = [name, "", ""] + ([""] if labels is not None else [])
            writer.writerow([*row, reason])
        return buffer.getvalue()
