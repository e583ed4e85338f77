"""Training-time augmentation: random integer translations of the digit images.

Shape legend: N batch, S image side (28).

MNIST digits are centred by their centre of mass, but handwriting varies by a pixel or two, and
a recurrent model reading rows is not translation invariant: shifting each training image by a
few pixels (zero fill, as the black background) is the classic cheap regulariser for MNIST.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from lightning_module.utils.checks import require_int


def validate_max_shift(max_shift: int) -> None:
    """Raise ValueError unless ``max_shift`` is an integer in [0, 13]."""
    require_int("augment_shift", max_shift, 0, 13)


def random_shift(
    images: torch.Tensor, max_shift: int, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Translate each image by its own random (dy, dx), both uniform in [-max_shift, max_shift].

    Args:
        images: (N, S, S) images; pixels moved out of the frame are dropped, new ones are 0.
        max_shift: largest shift in pixels, >= 0 (0 returns ``images`` itself).
        generator: random generator on ``images.device`` (default: torch's global one, which
            ``seed_everything`` seeds).

    Returns:
        (N, S, S) shifted images, same dtype and device.
    """
    validate_max_shift(max_shift)
    if max_shift == 0:
        return images
    n, height, width = images.shape
    device = images.device
    padded = F.pad(images, (max_shift, max_shift, max_shift, max_shift))
    offsets = torch.randint(0, 2 * max_shift + 1, (2, n), device=device, generator=generator)
    # every (2m+1)^2 shifted window of each padded image, as a view (no copy):
    # (N, 2m+1, 2m+1, S, S); then one index per image picks its window, which is cheaper than
    # advanced indexing with (N, S, S) row and column index tensors.
    windows = padded.unfold(1, height, 1).unfold(2, width, 1)
    return windows[torch.arange(n, device=device), offsets[0], offsets[1]]
