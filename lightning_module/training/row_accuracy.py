"""Accuracy of the per-step readout (``SequenceClassifierNet.readout``) after every time step.

A torchmetrics ``Metric``, so under DDP the counts are summed over ranks as ``test_acc``'s are.
"""

from __future__ import annotations

import torch
from torchmetrics import Metric


class RowAccuracy(Metric):
    """Fraction of images whose most likely class after step t is the label, for t = 1..T.

    Args:
        num_steps: T, the time steps of the readout.
    """

    full_state_update = False

    def __init__(self, num_steps: int) -> None:
        super().__init__()
        self.add_state("correct", torch.zeros(num_steps, dtype=torch.long), dist_reduce_fx="sum")
        self.add_state("total", torch.zeros((), dtype=torch.long), dist_reduce_fx="sum")

    def update(self, probabilities: torch.Tensor, labels: torch.Tensor) -> None:
        """Count one batch: ``probabilities`` (N, T, C), ``labels`` (N,)."""
        self.correct += (probabilities.argmax(dim=2) == labels[:, None]).sum(dim=0)
        self.total += labels.shape[0]

    def compute(self) -> torch.Tensor:
        """(T,) accuracies in [0, 1] (float64, so 10,000 images count exactly)."""
        return self.correct.double() / self.total
