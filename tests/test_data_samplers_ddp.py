"""DDP correctness without spawning processes: build each rank's loaders as Lightning 2.6 does.

For each rank, a Trainer(strategy="ddp", devices=2) is constructed but never launched, its
rank set by hand, and every loader goes through Lightning's own ``_process_dataloader`` (the
sampler injection a real run applies). Training: Lightning wraps our sampler in
``DistributedSamplerWrapper``; shards must be disjoint, cover the split and change per epoch.
Val/test/predict: our loaders carry ``UnrepeatedDistributedSampler``; every image exactly once.
"""

from __future__ import annotations

import warnings
from collections import Counter

import pytest
import pytorch_lightning as pl
import torch
from pytorch_lightning.trainer.connectors.data_connector import _process_dataloader
from pytorch_lightning.trainer.states import RunningStage, TrainerFn
from pytorch_lightning.utilities.rank_zero import rank_zero_only
from torch.utils.data import DataLoader, SequentialSampler

from data import MNISTDataModule
from data.datasets import passthrough_collate

WORLD = 2
STAGES = {
    "train": (TrainerFn.FITTING, RunningStage.TRAINING),
    "val": (TrainerFn.FITTING, RunningStage.VALIDATING),
    "test": (TrainerFn.TESTING, RunningStage.TESTING),
    "predict": (TrainerFn.PREDICTING, RunningStage.PREDICTING),
}


@pytest.fixture(autouse=True)
def _keep_this_process_rank_zero(monkeypatch):
    """``set_global_rank`` below also sets Lightning's process-wide ``rank_zero_only.rank``;
    later tests in this process would otherwise run as rank 1 (no logs, no checkpoints)."""
    monkeypatch.setattr(rank_zero_only, "rank", rank_zero_only.rank)


def _rank_loader(mnist_dir, rank: int, split: str, **kwargs):
    """The ``split`` loader rank ``rank`` of a 2-process DDP run would iterate."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        trainer = pl.Trainer(accelerator="cpu", strategy="ddp", devices=WORLD, logger=False)
    trainer.strategy.cluster_environment.set_global_rank(rank)
    assert trainer.distributed_sampler_kwargs == {"num_replicas": WORLD, "rank": rank}
    dm = MNISTDataModule(data_dir=str(mnist_dir), batch_size=16, **kwargs)
    dm.trainer = trainer
    dm.setup()
    trainer_fn, stage = STAGES[split]
    trainer.state.fn = trainer_fn
    loader = getattr(dm, f"{split}_dataloader")()
    return _process_dataloader(trainer, trainer_fn, stage, loader), dm


def _image_ids(loader, epoch: int = 0) -> list[float]:
    """One identifier per served image (its pixel sum, distinct in the fixture), in order."""
    from lightning_fabric.utilities.data import _set_sampler_epoch

    _set_sampler_epoch(loader, epoch)  # what Lightning's loops call before each epoch
    return [float(s) for batch in loader for s in batch[0].double().flatten(1).sum(1)]


def _all_ids(dataset) -> list[float]:
    return [float(s) for s in dataset.inputs.double().flatten(1).sum(1)]


def test_fixture_images_are_distinguishable_by_pixel_sum(mnist_dir):
    dm = MNISTDataModule(data_dir=str(mnist_dir), val_size=50)
    dm.setup()
    for split in ("train", "val", "test"):
        ids = _all_ids(dm._splits[split])
        assert len(set(ids)) == len(ids)


@pytest.mark.parametrize("val_size", [50, 51])  # 250 (even) and 249 (odd) training images
def test_each_rank_trains_on_a_distinct_shard_that_changes_every_epoch(mnist_dir, val_size):
    shards = {}
    for rank in range(WORLD):
        loader, dm = _rank_loader(mnist_dir, rank, "train", val_size=val_size)
        shards[rank] = [_image_ids(loader, epoch) for epoch in (0, 1)]
    everything = Counter(_all_ids(dm._splits["train"]))
    padding = -len(everything) % WORLD  # DistributedSampler repeats this many to even ranks out
    for epoch in (0, 1):
        rank0, rank1 = shards[0][epoch], shards[1][epoch]
        assert len(rank0) == len(rank1) == (len(everything) + padding) // WORLD
        served = Counter(rank0) + Counter(rank1)
        assert set(served) == set(everything)  # every training image is seen
        assert sum(served.values()) - len(everything) == padding  # nothing else repeated
        assert len(set(rank0) & set(rank1)) == padding
    for rank in range(WORLD):
        assert shards[rank][0] != shards[rank][1]  # reshuffled every epoch
        assert set(shards[rank][0]) != set(shards[rank][1])  # ... across ranks, not only within


@pytest.mark.parametrize("split", ["val", "test", "predict"])
@pytest.mark.parametrize("val_size", [50, 51])
def test_evaluation_splits_cover_every_image_exactly_once_across_ranks(mnist_dir, split, val_size):
    served = Counter()
    for rank in range(WORLD):
        loader, dm = _rank_loader(mnist_dir, rank, split, val_size=val_size)
        served.update(_image_ids(loader))
    expected = Counter(_all_ids(dm._splits[split]))
    assert served == expected


def test_lightnings_default_injection_would_have_scored_an_image_twice(mnist_dir):
    # The reason for our own eval sampler: a plain sequential loader gets a padding sampler.
    served = Counter()
    for rank in range(WORLD):
        _, dm = _rank_loader(mnist_dir, rank, "val", val_size=51)
        trainer = dm.trainer
        dataset = dm._splits["val"]
        sequential = SequentialSampler(dataset)
        plain = DataLoader(dataset, 16, sampler=sequential, collate_fn=passthrough_collate)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            injected = _process_dataloader(
                trainer, TrainerFn.FITTING, RunningStage.VALIDATING, plain
            )
        served.update(float(s) for x, _ in injected for s in x.double().flatten(1).sum(1))
    assert sum(served.values()) == 52 and max(served.values()) == 2


def test_single_process_loaders_keep_plain_samplers(mnist_dir):
    dm = MNISTDataModule(data_dir=str(mnist_dir), val_size=50)
    dm.setup()
    assert isinstance(dm.val_dataloader().sampler, SequentialSampler)
    x, _ = next(iter(dm.val_dataloader()))
    assert torch.equal(x, dm._splits["val"].inputs[:100][: len(x)])
