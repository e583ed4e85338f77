"""Tiny synthetic MNIST written in torchvision's raw IDX layout, for fast offline tests.

Each image of class ``c`` carries a bright vertical bar at column ``2 + 2 * c`` over rows 3 to 24,
on a dim noise background, so a recurrent model reading rows (or pixels) can learn the classes
in a few epochs. Labels cycle ``0, 1, ..., 9, 0, 1, ...`` so every split holds every class.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np

TRAIN_IMAGES = "train-images-idx3-ubyte"
TRAIN_LABELS = "train-labels-idx1-ubyte"
TEST_IMAGES = "t10k-images-idx3-ubyte"
TEST_LABELS = "t10k-labels-idx1-ubyte"
IDX_FILES = (TRAIN_IMAGES, TRAIN_LABELS, TEST_IMAGES, TEST_LABELS)

IMAGES_MAGIC = 2051
LABELS_MAGIC = 2049


def synthetic_digits(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Return ``n`` uint8 images (n, 28, 28) and their uint8 labels (n,)."""
    rng = np.random.default_rng(seed)
    labels = (np.arange(n) % 10).astype(np.uint8)
    images = rng.integers(0, 40, size=(n, 28, 28), dtype=np.uint8)
    for i, label in enumerate(labels):
        column = 2 + 2 * int(label)
        images[i, 3:25, column] = rng.integers(200, 256, dtype=np.uint8)
    return images, labels


def write_idx_images(path: Path, images: np.ndarray) -> None:
    n, rows, cols = images.shape
    path.write_bytes(struct.pack(">IIII", IMAGES_MAGIC, n, rows, cols) + images.tobytes())


def write_idx_labels(path: Path, labels: np.ndarray) -> None:
    path.write_bytes(struct.pack(">II", LABELS_MAGIC, len(labels)) + labels.tobytes())


def write_synthetic_mnist(root: Path, n_train: int = 300, n_test: int = 100) -> Path:
    """Write the four IDX files under ``root/MNIST/raw/`` and return ``root``."""
    raw = Path(root) / "MNIST" / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    train_x, train_y = synthetic_digits(n_train, seed=0)
    test_x, test_y = synthetic_digits(n_test, seed=1)
    write_idx_images(raw / TRAIN_IMAGES, train_x)
    write_idx_labels(raw / TRAIN_LABELS, train_y)
    write_idx_images(raw / TEST_IMAGES, test_x)
    write_idx_labels(raw / TEST_LABELS, test_y)
    return Path(root)


def png_header_only(width: int, height: int) -> bytes:
    """A PNG signature and IHDR declaring width x height, with no pixel data at all."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    chunk = struct.pack(">I", len(ihdr)) + b"IHDR" + ihdr
    chunk += struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
    end = struct.pack(">I", 0) + b"IEND" + struct.pack(">I", zlib.crc32(b"IEND"))
    return b"\x89PNG\r\n\x1a\n" + chunk + end
