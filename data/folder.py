"""Read a folder of digit images for prediction: the readable ones as a tensor, the rest reported.

Shape legend: N readable images, 28 x 28 pixels.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import numpy as np
import torch

from data.errors import DigitImageError, MNISTDataError
from data.images import NO_DIGIT, is_blank, load_digit_image

# Names a user gives pictures: a folder named like this was probably meant to be one.
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".bmp", ".tif", ".tiff", ".webp")


def skip_reason(path: Path) -> str | None:
    """Why the entry ``path`` is not read as an image, or None for a regular file or a plain
    folder (whose files are listed one by one). Never opens the entry: a FIFO would block."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return f"a broken symbolic link (its target {os.readlink(path)} does not exist)"
    except OSError as exc:
        return f"cannot be read ({exc.strerror or exc})"
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        if path.suffix.lower() in IMAGE_SUFFIXES:
            return "a folder named like an image, not an image (its files are listed on their own)"
        return None
    kinds = {stat.S_ISFIFO: "a FIFO (named pipe)", stat.S_ISSOCK: "a socket"}
    kind = next((what for test, what in kinds.items() if test(mode)), "a device file")
    return f"{kind}, not a regular file: not read"


def scan_folder(folder: Path) -> tuple[list[Path], list[tuple[Path, str]]]:
    """Every regular, non-hidden file under ``folder`` (recursively), and every other non-hidden
    entry that is not a plain folder with the reason it is skipped; both sorted by relative path.

    Files that are not images are listed too, so that predict reports them instead of silently
    skipping them; hidden files and folders (names starting with ".") are left out.
    """
    files: list[Path] = []
    skipped: list[tuple[Path, str]] = []
    for path in folder.rglob("*"):
        relative = path.relative_to(folder)
        if any(part.startswith(".") for part in relative.parts):
            continue
        reason = skip_reason(path)
        if reason is not None:
            skipped.append((path, reason))
        elif path.is_file():
            files.append(path)

    def order(path: Path) -> str:
        return path.relative_to(folder).as_posix()

    return sorted(files, key=order), sorted(skipped, key=lambda entry: order(entry[0]))


def load_image_folder(
    folder: str | Path,
) -> tuple[torch.Tensor, list[str], list[tuple[str, str]]]:
    """Convert every image under ``folder`` with ``load_digit_image``; a blank one (no ink, see
    ``data.images.is_blank``) is a failure with the reason ``NO_DIGIT``, not a guess.

    Args:
        folder: the folder to read (searched recursively).

    Returns:
        images: float32 (N, 28, 28) in [0, 1], the readable images in name order.
        names: N paths relative to ``folder`` (POSIX style), one per image.
        failures: (relative path, reason) for each file that could not be converted and each
            entry skipped (a broken link, a FIFO, a socket, a folder named like an image).

    Raises:
        MNISTDataError: ``folder`` does not exist, is not a folder, or holds no files.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise MNISTDataError(f"predict_dir {folder} is not a folder (expected a folder of images)")
    images: list[np.ndarray] = []
    names: list[str] = []
    files, skipped = scan_folder(folder)
    if not files and not skipped:
        raise MNISTDataError(
            f"predict_dir {folder} holds no files (hidden ones are left out): expected images "
            "to classify (PNG or JPEG), in it or in folders below it"
        )
    failures = [(path.relative_to(folder).as_posix(), reason) for path, reason in skipped]
    for path in files:
        name = path.relative_to(folder).as_posix()
        try:
            digit = load_digit_image(path)
        except DigitImageError as exc:
            # The message starts with the full path; the failure list already names the file.
            failures.append((name, str(exc).removeprefix(f"{path}: ")))
            continue
        if is_blank(digit):
            failures.append((name, NO_DIGIT))
            continue
        images.append(digit)
        names.append(name)
    failures.sort()
    stacked = np.stack(images) if images else np.zeros((0, 28, 28), dtype=np.float32)
    return torch.from_numpy(stacked), names, failures
