"""An in-memory dataset that hands out whole batches by index slicing (no per-sample work).

Shape legend: N samples, B batch, 28 x 28 pixels.

``DataLoader`` calls ``__getitems__(indices)`` once per batch when the dataset defines it, then
passes the result to ``collate_fn``; with ``passthrough_collate`` a batch costs one tensor index
per field. Samplers, batch samplers and Lightning's distributed sampler injection work unchanged
because the dataset still has ``__len__`` and integer ``__getitem__``.
"""

from __future__ import annotations

from typing import Any

import torch
from torch.utils.data import Dataset


class TensorPairDataset(Dataset):
    """Pairs ``(inputs[i], targets[i])`` of two equal-length tensors, fetched a batch at a time.

    Args:
        inputs: float32 images, shape (N, 28, 28), on any device.
        targets: int64 labels or sample indices, shape (N,), on the same device as ``inputs``.
    """

    def __init__(self, inputs: torch.Tensor, targets: torch.Tensor) -> None:
        if len(inputs) != len(targets):
            raise ValueError(f"inputs hold {len(inputs)} samples but targets {len(targets)}")
        self.inputs = inputs
        self.targets = targets

    def __len__(self) -> int:
        return len(self.inputs)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self.inputs[index], self.targets[index]

    def __getitems__(self, indices: list[int]) -> tuple[torch.Tensor, torch.Tensor]:
        """One batch: inputs (B, 28, 28) and targets (B,) for the B ``indices``."""
        index = torch.as_tensor(indices, dtype=torch.long, device=self.inputs.device)
        # index_select takes a contiguous fast path that advanced indexing ``inputs[index]`` lacks.
        return self.inputs.index_select(0, index), self.targets.index_select(0, index)

    def to(self, device: torch.device | str) -> TensorPairDataset:
        """A copy of this dataset with both tensors on ``device`` (itself when already there)."""
        device = torch.device(device)
        if self.inputs.device == device:
            return self
        return TensorPairDataset(self.inputs.to(device), self.targets.to(device))


def passthrough_collate(batch: Any) -> Any:
    """Collate for ``TensorPairDataset``: ``__getitems__`` already returned a stacked batch."""
    return batch
