"""IDX parsing: files read exactly (oracle: torchvision's reader); faults name the file."""

from __future__ import annotations

import struct

import numpy as np
import pytest
import torch
from synthetic_mnist import (
    TEST_IMAGES,
    TEST_LABELS,
    TRAIN_IMAGES,
    TRAIN_LABELS,
    write_idx_images,
    write_idx_labels,
)
from torchvision.datasets.mnist import read_image_file, read_label_file

from data import MNISTDataError, MNISTDataModule
from data.idx import read_idx_images, read_idx_labels


def _raw(root):
    return root / "MNIST" / "raw"


def _setup_all(root):
    dm = MNISTDataModule(data_dir=str(root), val_size=50)
    dm.setup()
    return dm


def test_reader_matches_torchvisions_reader_on_every_file(mnist_dir):
    raw = _raw(mnist_dir)
    for name in (TRAIN_IMAGES, TEST_IMAGES):
        ours = torch.from_numpy(read_idx_images(raw / name).copy())
        assert torch.equal(ours, read_image_file(str(raw / name)))
    for name in (TRAIN_LABELS, TEST_LABELS):
        ours = torch.from_numpy(read_idx_labels(raw / name).astype(np.int64))
        assert torch.equal(ours, read_label_file(str(raw / name)))


def test_wrong_magic_number_is_refused_naming_the_file(mnist_dir):
    path = _raw(mnist_dir) / TRAIN_IMAGES
    blob = bytearray(path.read_bytes())
    blob[:4] = struct.pack(">I", 2049)  # a labels magic in an images file
    path.write_bytes(bytes(blob))
    with pytest.raises(MNISTDataError, match="wrong magic number 2049") as info:
        _setup_all(mnist_dir)
    assert str(path) in str(info.value)


def test_truncated_images_file_is_refused_naming_the_file(mnist_dir):
    path = _raw(mnist_dir) / TEST_IMAGES
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(MNISTDataError, match="truncated") as info:
        _setup_all(mnist_dir)
    assert str(path) in str(info.value)


def test_file_shorter_than_its_header_is_refused(mnist_dir):
    path = _raw(mnist_dir) / TRAIN_LABELS
    path.write_bytes(b"")
    with pytest.raises(MNISTDataError, match="truncated header") as info:
        _setup_all(mnist_dir)
    assert str(path) in str(info.value)


def test_trailing_bytes_are_refused(mnist_dir):
    path = _raw(mnist_dir) / TEST_LABELS
    path.write_bytes(path.read_bytes() + b"\x00")
    with pytest.raises(MNISTDataError, match="trailing bytes") as info:
        _setup_all(mnist_dir)
    assert str(path) in str(info.value)


def test_image_label_count_mismatch_names_both_files(mnist_dir):
    raw = _raw(mnist_dir)
    write_idx_labels(raw / TRAIN_LABELS, (np.arange(299) % 10).astype(np.uint8))
    with pytest.raises(MNISTDataError, match="count mismatch") as info:
        _setup_all(mnist_dir)
    message = str(info.value)
    assert str(raw / TRAIN_IMAGES) in message and str(raw / TRAIN_LABELS) in message
    assert "300 images" in message and "299 labels" in message


def test_label_outside_zero_to_nine_is_refused(mnist_dir):
    path = _raw(mnist_dir) / TEST_LABELS
    labels = (np.arange(100) % 10).astype(np.uint8)
    labels[7] = 10
    write_idx_labels(path, labels)
    with pytest.raises(MNISTDataError, match="label 10 at index 7"):
        _setup_all(mnist_dir)


def test_images_that_are_not_28_by_28_are_refused(mnist_dir):
    path = _raw(mnist_dir) / TEST_IMAGES
    write_idx_images(path, np.zeros((100, 27, 28), dtype=np.uint8))
    with pytest.raises(MNISTDataError, match="27x28 pixels") as info:
        _setup_all(mnist_dir)
    assert str(path) in str(info.value)


def test_a_header_promising_a_gigantic_file_is_refused_without_overflow(tmp_path):
    path = tmp_path / "huge-images"
    path.write_bytes(struct.pack(">IIII", 2051, 2**32 - 1, 2**32 - 1, 2**32 - 1))
    with pytest.raises(MNISTDataError, match="truncated"):
        read_idx_images(path)
