"""Read MNIST's raw IDX files with numpy, validating magic numbers, sizes and counts.

Shape legend: N images, 28 x 28 pixels each.

IDX layout (big-endian): a 4-byte magic number (2051 for images, 2049 for labels), then one
4-byte size per dimension (N, rows, cols for images; N for labels), then the uint8 data.
A file is refused with an ``MNISTDataError`` naming it when the magic is wrong, the header is
short, the data length differs from what the header promises, or the images are not 28x28.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from data.errors import MNISTDataError

IMAGES_MAGIC = 2051
LABELS_MAGIC = 2049
IMAGE_SIDE = 28
NUM_CLASSES = 10

TRAIN_IMAGES = "train-images-idx3-ubyte"
TRAIN_LABELS = "train-labels-idx1-ubyte"
TEST_IMAGES = "t10k-images-idx3-ubyte"
TEST_LABELS = "t10k-labels-idx1-ubyte"
IDX_FILES = (TRAIN_IMAGES, TRAIN_LABELS, TEST_IMAGES, TEST_LABELS)


def raw_folder(root: str | Path) -> Path:
    """The folder torchvision uses for MNIST's raw files under ``root``."""
    return Path(root) / "MNIST" / "raw"


def expected_paths(root: str | Path) -> list[Path]:
    """The four IDX files read here: train images, train labels, test images, test labels."""
    return [raw_folder(root) / name for name in IDX_FILES]


def _read_idx(path: Path, magic: int, ndim: int) -> tuple[np.ndarray, tuple[int, ...]]:
    try:
        blob = path.read_bytes()
    except FileNotFoundError:
        raise MNISTDataError(f"{path}: file not found") from None
    except OSError as exc:
        raise MNISTDataError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    header_size = 4 + 4 * ndim
    if len(blob) < header_size:
        raise MNISTDataError(
            f"{path}: truncated header ({len(blob)} bytes; an IDX file with {ndim} dimension(s) "
            f"starts with {header_size})"
        )
    header = np.frombuffer(blob, dtype=">u4", count=1 + ndim)
    if int(header[0]) != magic:
        raise MNISTDataError(
            f"{path}: wrong magic number {int(header[0])} (expected {magic}); "
            "not an MNIST IDX file of this kind, or corrupt"
        )
    dims = tuple(int(d) for d in header[1:])
    expected = header_size + math.prod(dims)  # Python ints: a crafted header cannot overflow
    if len(blob) != expected:
        problem = "truncated" if len(blob) < expected else "has trailing bytes"
        raise MNISTDataError(
            f"{path}: {problem}: {len(blob)} bytes, but its header {dims} promises {expected}"
        )
    data = np.frombuffer(blob, dtype=np.uint8, offset=header_size).reshape(dims)
    return data, dims


def read_idx_images(path: str | Path) -> np.ndarray:
    """Read an IDX image file; returns uint8 images of shape (N, 28, 28)."""
    path = Path(path)
    images, dims = _read_idx(path, IMAGES_MAGIC, ndim=3)
    if dims[1:] != (IMAGE_SIDE, IMAGE_SIDE):
        raise MNISTDataError(
            f"{path}: images are {dims[1]}x{dims[2]} pixels (expected {IMAGE_SIDE}x{IMAGE_SIDE})"
        )
    return images


def read_idx_labels(path: str | Path) -> np.ndarray:
    """Read an IDX label file; returns uint8 labels of shape (N,), each in 0..9."""
    path = Path(path)
    labels, _ = _read_idx(path, LABELS_MAGIC, ndim=1)
    if labels.size and int(labels.max()) >= NUM_CLASSES:
        first_bad = int(np.argmax(labels >= NUM_CLASSES))
        raise MNISTDataError(
            f"{path}: label {int(labels[first_bad])} at index {first_bad} is not a digit 0..9"
        )
    return labels


def read_split(images_path: str | Path, labels_path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """Read one split: uint8 images (N, 28, 28) and uint8 labels (N,), with matching counts."""
    images = read_idx_images(images_path)
    labels = read_idx_labels(labels_path)
    if len(images) != len(labels):
        raise MNISTDataError(
            f"image/label count mismatch: {images_path} holds {len(images)} images but "
            f"{labels_path} holds {len(labels)} labels"
        )
    return images, labels
