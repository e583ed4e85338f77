"""The real MNIST (MNIST_DATA_DIR): the practical's 55000/5000/10000 split and its first labels."""

from __future__ import annotations

import numpy as np
import pytest

from data import MNISTDataModule

pytestmark = pytest.mark.real_data


def _labels(root, name: str) -> np.ndarray:
    # Read independently of data/: skip the 8-byte IDX header of a labels file.
    return np.frombuffer((root / "MNIST" / "raw" / name).read_bytes(), dtype=np.uint8, offset=8)


def test_real_mnist_splits_55000_5000_10000_with_the_raw_files_first_labels(real_mnist_dir):
    train_labels = _labels(real_mnist_dir, "train-labels-idx1-ubyte")
    test_labels = _labels(real_mnist_dir, "t10k-labels-idx1-ubyte")
    assert train_labels[:3].tolist() == [5, 0, 4]  # MNIST's well-known first training labels
    assert test_labels[:3].tolist() == [7, 2, 1]  # ... and first test labels

    dm = MNISTDataModule(data_dir=str(real_mnist_dir), batch_size=100)
    dm.prepare_data()
    dm.setup()
    sizes = {split: len(dm._splits[split]) for split in ("train", "val", "test")}
    assert sizes == {"train": 55000, "val": 5000, "test": 10000}

    _, val_y = next(iter(dm.val_dataloader()))
    _, test_y = next(iter(dm.test_dataloader()))
    assert val_y[:10].tolist() == train_labels[:10].tolist()
    assert test_y[:10].tolist() == test_labels[:10].tolist()
    assert dm._splits["train"].targets[:10].tolist() == train_labels[5000:5010].tolist()
    train_x, train_y = next(iter(dm.train_dataloader()))
    assert train_x.shape == (100, 28, 28) and train_y.shape == (100,)
    assert len(dm.train_dataloader()) == 550 and len(dm.test_dataloader()) == 100
