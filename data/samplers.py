"""Samplers: a training shuffle that is a pure function of (seed, epoch), and exactly-once eval.

Training: ``EpochShuffleSampler`` yields a permutation drawn from ``(seed, epoch)`` alone, so a
run resumed at epoch k sees the order an uninterrupted run saw; Lightning calls ``set_epoch``
on it before every epoch. A loop that never calls ``set_epoch`` (iterating the same
``train_dataloader()`` again) still gets a fresh order per pass: each pass without a
``set_epoch`` since the previous one moves on to the next epoch.

Under a distributed run, Lightning 2.6 wraps any sampler that is not a
``RandomSampler``/``SequentialSampler`` in ``DistributedSamplerWrapper``, which forwards
``set_epoch`` to it, lists its permutation (identical on every rank, since the seed is), shuffles
positions with ``PL_GLOBAL_SEED + epoch`` and gives rank r every world-size-th position: the
shards are disjoint apart from at most world_size - 1 samples repeated to even them out.

Evaluation: Lightning would inject a padding ``DistributedSampler`` into val/test loaders, which
scores some images twice. ``eval_sampler`` instead returns Lightning's own
``UnrepeatedDistributedSampler`` when the trainer is distributed (a ``DistributedSampler``, so
Lightning leaves it in place): rank r takes images r, r + W, r + 2W, ... and every image is
scored exactly once in total; ranks may differ by one image (and so at most one batch).
"""

from __future__ import annotations

from collections.abc import Iterator, Sized
from typing import Any

import numpy as np
import torch
from pytorch_lightning.overrides.distributed import UnrepeatedDistributedSampler
from torch.utils.data import Sampler, SequentialSampler


class EpochShuffleSampler(Sampler[int]):
    """A permutation of ``range(num_samples)`` that depends only on ``seed`` and the epoch.

    Args:
        num_samples: how many samples to permute (N).
        seed: the data-order seed; different seeds give different orders.
    """

    def __init__(self, num_samples: int, seed: int = 0) -> None:
        if num_samples < 0:
            raise ValueError(f"num_samples must be >= 0, got {num_samples}")
        self.num_samples = num_samples
        self.seed = seed
        self.epoch = 0
        self._epoch_chosen = True  # the first pass is epoch 0 unless set_epoch says otherwise

    def set_epoch(self, epoch: int) -> None:
        """Select the permutation of ``epoch`` for the next pass (Lightning calls this before
        each epoch)."""
        self.epoch = epoch
        self._epoch_chosen = True

    def permutation(self) -> torch.Tensor:
        """The current epoch's order: int64 indices, shape (N,)."""
        # SeedSequence mixes (seed, epoch): seed s at epoch e+1 must not repeat seed s+1 at epoch e.
        state = np.random.SeedSequence([self.seed, self.epoch]).generate_state(2, dtype=np.uint32)
        generator = torch.Generator().manual_seed(int(state[0]) << 32 | int(state[1]))
        return torch.randperm(self.num_samples, generator=generator)

    def __iter__(self) -> Iterator[int]:
        if not self._epoch_chosen:
            self.epoch += 1
        self._epoch_chosen = False
        return iter(self.permutation().tolist())

    def __len__(self) -> int:
        return self.num_samples


def eval_sampler(dataset: Sized, distributed_kwargs: dict[str, Any] | None) -> Sampler[int]:
    """The sampler for a val/test/predict loader: every sample exactly once across all ranks.

    Args:
        dataset: the split's dataset (N samples).
        distributed_kwargs: ``trainer.distributed_sampler_kwargs`` (``num_replicas``, ``rank``),
            or None outside a distributed run.
    """
    if distributed_kwargs and distributed_kwargs.get("num_replicas", 1) > 1:
        return UnrepeatedDistributedSampler(dataset, shuffle=False, **distributed_kwargs)
    return SequentialSampler(dataset)
