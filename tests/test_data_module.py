"""MNISTDataModule on the synthetic fixture: splits, batches, shuffling, loading once, errors."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import pytorch_lightning as pl
import torch
import torchvision
from synthetic_mnist import IDX_FILES, TEST_IMAGES, TRAIN_IMAGES, TRAIN_LABELS
from torchvision.transforms import ToTensor

import data.datamodule
from data import MNISTDataError, MNISTDataModule
from data.download import _RawDownloader
from data.samplers import EpochShuffleSampler

REPO = Path(__file__).resolve().parents[1]


def _raw_images(root: Path, name: str) -> np.ndarray:
    blob = (root / "MNIST" / "raw" / name).read_bytes()
    return np.frombuffer(blob, dtype=np.uint8, offset=16).reshape(-1, 28, 28)


def _raw_labels(root: Path, name: str) -> np.ndarray:
    return np.frombuffer((root / "MNIST" / "raw" / name).read_bytes(), dtype=np.uint8, offset=8)


def _module(root: Path, **kwargs) -> MNISTDataModule:
    kwargs.setdefault("val_size", 50)
    kwargs.setdefault("batch_size", 32)
    dm = MNISTDataModule(data_dir=str(root), **kwargs)
    dm.prepare_data()
    dm.setup()
    return dm


def _concat(loader) -> tuple[torch.Tensor, torch.Tensor]:
    batches = list(loader)
    return torch.cat([b[0] for b in batches]), torch.cat([b[1] for b in batches])


# -- construction --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "argument"),
    [
        ({"batch_size": 0}, "batch_size"),
        ({"batch_size": 2.5}, "batch_size"),
        ({"val_size": -1}, "val_size"),
        ({"val_size": 0}, "val_size must be >= 1, got 0: the validation loss decides"),
        ({"val_size": 60_000}, "val_size"),
        ({"train_fraction": 0.0}, "train_fraction"),
        ({"train_fraction": 1.5}, "train_fraction"),
        ({"train_fraction": float("nan")}, "train_fraction"),
        ({"train_fraction": "half"}, "train_fraction"),
        ({"num_workers": -1}, "num_workers"),
        ({"on_device": True, "num_workers": 2}, "num_workers"),
        ({"on_device": True, "pin_memory": True}, "pin_memory"),
    ],
)
def test_bad_arguments_fail_at_construction_naming_the_argument(tmp_path, kwargs, argument):
    with pytest.raises(MNISTDataError, match=argument):
        MNISTDataModule(data_dir=str(tmp_path), **kwargs)


def test_val_size_leaving_no_training_image_fails_at_setup_naming_val_size(mnist_dir):
    with pytest.raises(MNISTDataError, match=r"val_size=300 .*at most 299"):
        _module(mnist_dir, val_size=300)


def test_train_fraction_keeping_no_image_fails_naming_train_fraction(mnist_dir):
    with pytest.raises(MNISTDataError, match="train_fraction=0.5 keeps no image"):
        _module(mnist_dir, val_size=299, train_fraction=0.5)


def test_data_dir_defaults_to_mnist_data_dir_then_a_user_cache_outside_the_repo(
    monkeypatch, tmp_path
):
    monkeypatch.setenv("MNIST_DATA_DIR", str(tmp_path / "shared"))
    assert MNISTDataModule().data_dir == str(tmp_path / "shared")
    monkeypatch.delenv("MNIST_DATA_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert MNISTDataModule().data_dir == str(tmp_path / "cache" / "rnn-mnist")
    monkeypatch.delenv("XDG_CACHE_HOME")
    default = Path(MNISTDataModule().data_dir)
    assert default == Path(os.path.expanduser("~")) / ".cache" / "rnn-mnist"
    assert REPO not in default.parents


# -- splits and batches --------------------------------------------------------------------


def test_splits_follow_the_practical_val_first_then_train_then_test(mnist_dir):
    dm = _module(mnist_dir, val_size=50)
    train_x = _raw_images(mnist_dir, TRAIN_IMAGES)
    train_y = _raw_labels(mnist_dir, TRAIN_LABELS)
    val, train, test = dm._splits["val"], dm._splits["train"], dm._splits["test"]
    assert (len(val), len(train), len(test)) == (50, 250, 100)
    expected = torch.from_numpy(train_x.astype(np.float32)) / 255
    assert torch.equal(val.inputs, expected[:50])
    assert torch.equal(train.inputs, expected[50:])
    assert torch.equal(val.targets, torch.from_numpy(train_y[:50].astype(np.int64)))
    assert torch.equal(train.targets, torch.from_numpy(train_y[50:].astype(np.int64)))


def test_train_fraction_keeps_only_the_first_fraction_of_the_training_split(mnist_dir):
    dm = _module(mnist_dir, val_size=100, train_fraction=0.35)
    train_y = _raw_labels(mnist_dir, TRAIN_LABELS)
    assert len(dm._splits["train"]) == 70  # int(200 * 0.35), as MNISTFraction
    assert len(dm._splits["val"]) == 100  # validation is not reduced
    expected = torch.from_numpy(train_y[100:170].astype(np.int64))
    assert torch.equal(dm._splits["train"].targets, expected)


def test_batches_are_float_images_in_unit_range_and_int64_labels(mnist_dir):
    dm = _module(mnist_dir, batch_size=32)
    for loader in (dm.train_dataloader(), dm.val_dataloader(), dm.test_dataloader()):
        x, y = next(iter(loader))
        assert x.dtype == torch.float32 and x.shape == (32, 28, 28)
        assert y.dtype == torch.int64 and y.shape == (32,)
        assert 0.0 <= x.min() and x.max() <= 1.0 and x.max() > 0.5


def test_test_images_equal_torchvisions_per_sample_to_tensor_pipeline_bit_for_bit(mnist_dir):
    dm = _module(mnist_dir)
    reference = torchvision.datasets.MNIST(str(mnist_dir), train=False, transform=ToTensor())
    x, y = _concat(dm.test_dataloader())
    expected_x = torch.stack([reference[i][0][0] for i in range(len(reference))])
    expected_y = torch.tensor([reference[i][1] for i in range(len(reference))])
    assert torch.equal(x, expected_x) and torch.equal(y, expected_y)


def test_val_and_test_keep_order_and_the_last_partial_batch(mnist_dir):
    dm = _module(mnist_dir, batch_size=32, val_size=50)
    assert [len(b[1]) for b in dm.test_dataloader()] == [32, 32, 32, 4]
    assert [len(b[1]) for b in dm.val_dataloader()] == [32, 18]
    _, y = _concat(dm.test_dataloader())
    assert torch.equal(y, dm._splits["test"].targets)


def test_predict_without_a_folder_serves_every_test_image_once_with_its_index(mnist_dir):
    dm = _module(mnist_dir, batch_size=32)
    x, index = _concat(dm.predict_dataloader())
    assert index.dtype == torch.int64
    assert torch.equal(index, torch.arange(100))
    assert torch.equal(x, dm._splits["test"].inputs)
    assert dm.predict_names == [str(i) for i in range(100)]
    assert dm.predict_labels == _raw_labels(mnist_dir, "t10k-labels-idx1-ubyte").tolist()
    assert dm.predict_failures == []


# -- shuffling -----------------------------------------------------------------------------


def _epoch_labels_order(dm: MNISTDataModule, epoch: int) -> torch.Tensor:
    loader = dm.train_dataloader()
    loader.sampler.set_epoch(epoch)
    return _concat(loader)[0].flatten(1).sum(1)  # an identifier per image, in batch order


def test_training_order_changes_every_epoch_and_covers_each_image_once(mnist_dir):
    dm = _module(mnist_dir)
    first, second = _epoch_labels_order(dm, 0), _epoch_labels_order(dm, 1)
    assert not torch.equal(first, second)
    unshuffled = dm._splits["train"].inputs.flatten(1).sum(1)
    assert torch.equal(first.sort().values, unshuffled.sort().values)
    assert torch.equal(second.sort().values, unshuffled.sort().values)


def test_training_order_is_a_pure_function_of_seed_and_epoch(mnist_dir):
    walked = EpochShuffleSampler(250, seed=3)
    for epoch in range(4):  # a run that went through epochs 0..3
        walked.set_epoch(epoch)
        walked_order = list(walked)
    resumed = EpochShuffleSampler(250, seed=3)  # a fresh process resuming at epoch 3
    resumed.set_epoch(3)
    assert list(resumed) == walked_order
    other_seed = EpochShuffleSampler(250, seed=4)
    other_seed.set_epoch(3)
    assert list(other_seed) != walked_order
    dm_a, dm_b = _module(mnist_dir, seed=7), _module(mnist_dir, seed=7)
    assert torch.equal(_epoch_labels_order(dm_a, 2), _epoch_labels_order(dm_b, 2))
    assert not torch.equal(_epoch_labels_order(dm_a, 2), _epoch_labels_order(_module(mnist_dir), 2))


def test_iterating_the_same_train_loader_again_gives_a_new_order_each_pass(mnist_dir):
    dm = _module(mnist_dir, seed=5)
    loader = dm.train_dataloader()
    passes = [_concat(loader)[0].flatten(1).sum(1) for _ in range(3)]  # no set_epoch at all
    assert not torch.equal(passes[0], passes[1]) and not torch.equal(passes[1], passes[2])
    for epoch, order in enumerate(passes):  # pass k is epoch k's order
        assert torch.equal(order, _epoch_labels_order(_module(mnist_dir, seed=5), epoch))
    sampler = EpochShuffleSampler(250, seed=5)
    sampler.set_epoch(7)
    assert list(sampler) == list(sampler_at(7)) and list(sampler) == list(sampler_at(8))
    sampler.set_epoch(2)  # set_epoch always wins, as Lightning's resume needs
    assert list(sampler) == list(sampler_at(2))


def sampler_at(epoch: int) -> EpochShuffleSampler:
    sampler = EpochShuffleSampler(250, seed=5)
    sampler.set_epoch(epoch)
    return sampler


def test_preload_reads_every_split_of_the_stages_now_and_leaves_missing_files_to_download(
    mnist_dir,
):
    dm = MNISTDataModule(str(mnist_dir), val_size=50)
    dm.preload("fit", "test")
    assert set(dm._splits) == {"train", "val", "test"}
    path = mnist_dir / "MNIST" / "raw" / TEST_IMAGES
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(MNISTDataError, match="truncated"):
        MNISTDataModule(str(mnist_dir), val_size=50).preload("fit", "test")
    path.unlink()
    missing = MNISTDataModule(str(mnist_dir), val_size=50)
    missing.preload("fit", "test")
    assert missing._splits == {}


class _OrderRecorder(pl.LightningModule):
    """Records the images each training epoch sees, to check the order Lightning produces."""

    def __init__(self) -> None:
        super().__init__()
        self.layer = torch.nn.Linear(784, 10)
        self.seen: dict[int, list[torch.Tensor]] = {}

    def training_step(self, batch, batch_idx):
        x, y = batch
        self.seen.setdefault(self.current_epoch, []).append(x.flatten(1).sum(1))
        return torch.nn.functional.cross_entropy(self.layer(x.flatten(1)), y)

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.01)


def _trainer(tmp_path: Path, max_epochs: int) -> pl.Trainer:
    return pl.Trainer(
        default_root_dir=tmp_path,
        max_epochs=max_epochs,
        accelerator="cpu",
        devices=1,
        logger=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        enable_checkpointing=False,
        limit_val_batches=0,
    )


def test_lightning_sets_the_epoch_so_a_resumed_fit_sees_the_uninterrupted_order(
    mnist_dir, tmp_path
):
    straight = _OrderRecorder()
    _trainer(tmp_path / "straight", 2).fit(straight, MNISTDataModule(str(mnist_dir), val_size=50))
    assert not torch.equal(torch.cat(straight.seen[0]), torch.cat(straight.seen[1]))

    first_half = _OrderRecorder()
    trainer = _trainer(tmp_path / "resumed", 1)
    trainer.fit(first_half, MNISTDataModule(str(mnist_dir), val_size=50))
    checkpoint = tmp_path / "after_epoch_0.ckpt"
    trainer.save_checkpoint(checkpoint)
    resumed = _OrderRecorder()
    _trainer(tmp_path / "resumed", 2).fit(
        resumed, MNISTDataModule(str(mnist_dir), val_size=50), ckpt_path=str(checkpoint)
    )
    assert list(resumed.seen) == [1]
    assert torch.equal(torch.cat(resumed.seen[1]), torch.cat(straight.seen[1]))


# -- loading once, downloading only when needed --------------------------------------------


def test_setup_twice_loads_each_split_only_once(mnist_dir, monkeypatch):
    calls = []
    real_read_split = data.datamodule.read_split
    monkeypatch.setattr(
        data.datamodule, "read_split", lambda *a: calls.append(a) or real_read_split(*a)
    )
    dm = MNISTDataModule(data_dir=str(mnist_dir), val_size=50)
    dm.setup("fit")
    train = dm._splits["train"]
    dm.setup("fit")
    dm.setup("validate")
    assert len(calls) == 1 and dm._splits["train"] is train
    dm.setup("test")
    dm.setup("predict")
    dm.setup(None)
    assert len(calls) == 2


def test_prepare_data_does_not_download_when_files_exist_and_assigns_no_state(
    mnist_dir, monkeypatch
):
    def refuse(self):
        raise AssertionError("prepare_data downloaded although the files exist")

    monkeypatch.setattr(_RawDownloader, "download", refuse)
    dm = MNISTDataModule(data_dir=str(mnist_dir))
    before = dict(vars(dm))
    dm.prepare_data()
    assert vars(dm).keys() == before.keys()
    assert all(vars(dm)[key] is before[key] for key in before)


def test_prepare_data_downloads_through_torchvision_when_a_file_is_missing(mnist_dir, monkeypatch):
    (mnist_dir / "MNIST" / "raw" / TEST_IMAGES).unlink()
    calls = []
    monkeypatch.setattr(_RawDownloader, "download", lambda self: calls.append(self.raw_folder))
    with pytest.raises(MNISTDataError, match=f"did not produce .*{TEST_IMAGES}"):
        MNISTDataModule(data_dir=str(mnist_dir)).prepare_data()
    assert calls == [str(mnist_dir / "MNIST" / "raw")]


def test_no_files_and_no_network_give_one_message_naming_the_four_paths(tmp_path, monkeypatch):
    # A closed local port: torchvision's download fails at once, as it does offline.
    monkeypatch.setattr(torchvision.datasets.MNIST, "mirrors", ["http://127.0.0.1:9/"])
    dm = MNISTDataModule(data_dir=str(tmp_path / "empty"))
    with pytest.raises(MNISTDataError) as info:
        dm.prepare_data()
    message = str(info.value)
    for name in IDX_FILES:
        assert str(tmp_path / "empty" / "MNIST" / "raw" / name) in message
    assert "MNIST_DATA_DIR" in message and "download failed" in message
    assert "Tried" not in message  # not torchvision's list of per-mirror URL errors
    assert info.value.__cause__ is None and info.value.__suppress_context__


def test_setup_without_files_names_the_four_paths(tmp_path):
    dm = MNISTDataModule(data_dir=str(tmp_path))
    with pytest.raises(MNISTDataError, match="MNIST_DATA_DIR") as info:
        dm.setup("fit")
    assert all(name in str(info.value) for name in IDX_FILES)


# -- options -------------------------------------------------------------------------------


def test_worker_processes_give_the_same_batches_as_the_main_process(mnist_dir):
    in_process = _module(mnist_dir, num_workers=0)
    with_workers = _module(mnist_dir, num_workers=1)
    expected, got = _concat(in_process.test_dataloader()), _concat(with_workers.test_dataloader())
    assert torch.equal(expected[0], got[0]) and torch.equal(expected[1], got[1])
    assert torch.equal(_epoch_labels_order(in_process, 1), _epoch_labels_order(with_workers, 1))


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the CPU fallback")
def test_on_device_is_a_no_op_on_cpu(mnist_dir):
    plain, on_device = _module(mnist_dir), _module(mnist_dir, on_device=True)
    x, y = next(iter(on_device.test_dataloader()))
    assert x.device.type == "cpu"
    assert torch.equal(x, next(iter(plain.test_dataloader()))[0])


@pytest.mark.gpu
def test_on_device_keeps_the_splits_on_the_gpu_and_pin_memory_pins_batches(mnist_dir):
    on_device = _module(mnist_dir, on_device=True)
    x, y = next(iter(on_device.train_dataloader()))
    assert x.is_cuda and y.is_cuda
    assert on_device._splits["train"].inputs.is_cuda  # moved once, not per batch
    reference = _module(mnist_dir)
    on_gpu, on_cpu = _concat(on_device.test_dataloader()), _concat(reference.test_dataloader())
    assert torch.equal(on_gpu[0].cpu(), on_cpu[0]) and torch.equal(on_gpu[1].cpu(), on_cpu[1])
    assert torch.equal(_epoch_labels_order(on_device, 1).cpu(), _epoch_labels_order(reference, 1))
    pinned = _module(mnist_dir, pin_memory=True)
    x, _ = next(iter(pinned.train_dataloader()))
    assert x.is_pinned()


def test_a_failed_download_leaves_no_folder_it_created(tmp_path, monkeypatch):
    monkeypatch.setattr(torchvision.datasets.MNIST, "mirrors", ["http://127.0.0.1:9/"])
    with pytest.raises(MNISTDataError, match="download failed"):
        MNISTDataModule(data_dir=str(tmp_path / "new" / "data")).prepare_data()
    (tmp_path / "kept" / "MNIST").mkdir(parents=True)
    (tmp_path / "kept" / "MNIST" / "notes.txt").write_text("the user's")
    with pytest.raises(MNISTDataError, match="download failed"):
        MNISTDataModule(data_dir=str(tmp_path / "kept")).prepare_data()
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*")) == [
        "kept",
        "kept/MNIST",
        "kept/MNIST/notes.txt",
    ]


@pytest.mark.parametrize("given", ["MNIST/raw", "MNIST"])
def test_a_data_dir_pointing_into_mnist_raw_is_refused_naming_the_right_one(
    mnist_dir, given, monkeypatch
):
    def refuse(self):
        raise AssertionError("downloaded although the files are right there")

    monkeypatch.setattr(_RawDownloader, "download", refuse)
    before = sorted(mnist_dir.rglob("*"))
    with pytest.raises(MNISTDataError) as info:
        MNISTDataModule(data_dir=str(mnist_dir / given)).prepare_data()
    assert str(info.value).endswith(
        f"set MNIST_DATA_DIR (or the data_dir argument) to {mnist_dir.resolve()}"
    )
    assert sorted(mnist_dir.rglob("*")) == before  # no MNIST/raw/MNIST/raw made


def test_a_data_dir_with_a_tilde_is_the_home_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("MNIST_DATA_DIR", "~/datasets")
    assert MNISTDataModule().data_dir == str(tmp_path / "datasets")
    assert MNISTDataModule(data_dir="~/elsewhere").data_dir == str(tmp_path / "elsewhere")
