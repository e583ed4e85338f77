"""Read a folder of digit images for prediction: the readable ones as a tensor, the rest reported.

Shape legend: N readable images, 28 x 28 pixels.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from data.errors import DigitImageError, MNISTDataError
from data.images import load_digit_image


def list_image_files(folder: Path) -> list[Path]:
    """Every regular, non-hidden file under ``folder`` (recursively), sorted by relative path.

    Files that are not images are listed too, so that predict reports them instead of silently
    skipping them; hidden files and folders (names starting with ".") are left out.
    """
    files = []
    for path in folder.rglob("*"):
        relative = path.relative_to(folder)
        if any(part.startswith(".") for part in relative.parts) or not path.is_file():
            continue
        files.append(path)
    return sorted(files, key=lambda path: path.relative_to(folder).as_posix())


def load_image_folder(
    folder: str | Path,
) -> tuple[torch.Tensor, list[str], list[tuple[str, str]]]:
    """Convert every image under ``folder`` with ``load_digit_image``.

    Args:
        folder: the folder to read (searched recursively).

    Returns:
        images: float32 (N, 28, 28) in [0, 1], the readable images in name order.
        names: N paths relative to ``folder`` (POSIX style), one per image.
        failures: (relative path, reason) for each file that could not be converted.

    Raises:
        MNISTDataError: ``folder`` does not exist or is not a folder.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise MNISTDataError(f"predict_dir {folder} is not a folder (expected a folder of images)")
    images: list[np.ndarray] = []
    names: list[str] = []
    failures: list[tuple[str, str]] = []
    for path in list_image_files(folder):
        name = path.relative_to(folder).as_posix()
        try:
            images.append(load_digit_image(path))
        except DigitImageError as exc:
            # The message starts with the full path; the failure list already names the file.
            failures.append((name, str(exc).removeprefix(f"{path}: ")))
            continue
        names.append(name)
    stacked = np.stack(images) if images else np.zeros((0, 28, 28), dtype=np.float32)
    return torch.from_numpy(stacked), names, failures
