"""Random-shift augmentation: each image is an integer translation of itself, in training only."""

import pytest
import torch

from lightning_module import RecurrentClassifier
from lightning_module.augment import random_shift


def shifted(image: torch.Tensor, dy: int, dx: int) -> torch.Tensor:
    """Reference translation by (dy, dx) with zero fill, written with slices."""
    out = torch.zeros_like(image)
    s = image.shape[0]
    src_rows = slice(max(0, -dy), min(s, s - dy))
    dst_rows = slice(max(0, dy), min(s, s + dy))
    src_cols = slice(max(0, -dx), min(s, s - dx))
    dst_cols = slice(max(0, dx), min(s, s + dx))
    out[dst_rows, dst_cols] = image[src_rows, src_cols]
    return out


def test_every_image_is_translated_by_at_most_max_shift_with_zero_fill():
    images = torch.rand(40, 28, 28, generator=torch.Generator().manual_seed(0))
    out = random_shift(images, 2, generator=torch.Generator().manual_seed(1))
    assert out.shape == images.shape and out.dtype == images.dtype
    seen = set()
    for image, result in zip(images, out, strict=True):
        matches = [
            (dy, dx)
            for dy in range(-2, 3)
            for dx in range(-2, 3)
            if torch.equal(result, shifted(image, dy, dx))
        ]
        assert len(matches) == 1
        seen.add(matches[0])
    assert len(seen) > 5  # shifts differ between images


def test_zero_shift_returns_the_images_unchanged():
    images = torch.rand(3, 28, 28)
    assert random_shift(images, 0) is images


def test_shifts_are_reproducible_from_the_generator_seed():
    images = torch.rand(8, 28, 28)
    a = random_shift(images, 3, generator=torch.Generator().manual_seed(5))
    b = random_shift(images, 3, generator=torch.Generator().manual_seed(5))
    assert torch.equal(a, b)


@pytest.mark.parametrize("bad", [-1, 14, 1.5, True])
def test_a_bad_augment_shift_is_refused_naming_the_argument(bad):
    with pytest.raises(ValueError, match="augment_shift"):
        RecurrentClassifier(augment_shift=bad)


def test_the_classifier_augments_training_batches_only():
    model = RecurrentClassifier(cell="rnn", hidden_size=4, augment_shift=2)
    images = torch.rand(6, 28, 28)
    torch.manual_seed(0)
    assert not torch.equal(model.training_inputs(images), images)
    model.eval()
    assert model.training_inputs(images) is images
    no_augment = RecurrentClassifier(cell="rnn", hidden_size=4)
    assert no_augment.training_inputs(images) is images
