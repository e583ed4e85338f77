"""The errors the data package raises: each names the file or argument and what was expected."""

from __future__ import annotations


class MNISTDataError(ValueError):
    """MNIST files missing, truncated or corrupt, or a data argument out of range."""


class DigitImageError(MNISTDataError):
    """An image file that cannot be turned into a 28x28 MNIST-like digit (the reason says why)."""
