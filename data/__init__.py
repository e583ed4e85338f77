"""MNIST for recurrent models: a fast, offline-safe LightningDataModule and a digit-image reader."""

from data.datamodule import MNISTDataModule
from data.errors import DigitImageError, MNISTDataError
from data.images import load_digit_image

__all__ = ["DigitImageError", "MNISTDataError", "MNISTDataModule", "load_digit_image"]
