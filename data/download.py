"""Fetch MNIST's raw files through torchvision, turning any failure into one clear message."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.error import URLError

from torchvision.datasets import MNIST

from data.errors import MNISTDataError
from data.idx import IDX_FILES, expected_paths, raw_folder


class _RawDownloader(MNIST):
    """torchvision's MNIST download logic without its loading (this package parses the files)."""

    def __init__(self, root: str | Path) -> None:  # no super().__init__: it would load the data
        self.root = str(root)

    @property
    def raw_folder(self) -> str:
        return str(raw_folder(self.root))


def missing_files(root: str | Path, names: tuple[str, ...] | None = None) -> list[Path]:
    """The expected IDX files (only ``names`` when given) not present under ``root``."""
    paths = expected_paths(root) if names is None else [raw_folder(root) / n for n in names]
    return [path for path in paths if not path.is_file()]


def missing_data_message(root: str | Path, reason: str) -> str:
    paths = "\n".join(f"  {path}" for path in expected_paths(root))
    return (
        f"MNIST not found under {root} and {reason}.\nExpected these four files:\n{paths}\n"
        "Copy them there (torchvision's MNIST/raw layout), or set MNIST_DATA_DIR (or the "
        "data_dir argument) to the folder that holds MNIST/raw/, or run once with internet access."
    )


def misplaced_root(root: str | Path) -> Path | None:
    """The folder the data dir should have been when ``root`` is the ``MNIST/raw/`` folder itself
    or its ``MNIST/`` parent (the files lie there), else None."""
    root = Path(root)
    for inner, up in ((root, 2), (root / "raw", 1)):
        if any((inner / name).is_file() for name in IDX_FILES):
            return root.resolve().parents[up - 1]
    return None


def ensure_downloaded(root: str | Path, names: tuple[str, ...] | None = None) -> None:
    """Download the missing IDX files into ``root/MNIST/raw/`` via torchvision, unless every one
    a command reads (``names``; None: all four) is already there. A failed download leaves no
    folder it created behind.

    Raises:
        MNISTDataError: naming the four expected paths and ``MNIST_DATA_DIR`` when the files are
            missing and cannot be downloaded (offline, unreachable mirrors, unwritable folder),
            or, without downloading, when ``root`` is the folder holding the files itself.
    """
    if not missing_files(root, names):
        return
    better = misplaced_root(root)
    if better is not None:
        raise MNISTDataError(
            f"{root} holds MNIST's files itself, but the data folder is the one above MNIST/raw/: "
            f"set MNIST_DATA_DIR (or the data_dir argument) to {better}"
        )
    folder, created = raw_folder(root).absolute(), []  # the folders a download makes, deepest first
    while not folder.exists() and folder != folder.parent:
        created.append(folder)
        folder = folder.parent
    try:
        _RawDownloader(root).download()
    except (RuntimeError, URLError, OSError) as exc:
        remove_empty(created)
        detail = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
        raise MNISTDataError(
            missing_data_message(root, f"the download failed ({detail})")
        ) from None
    still_missing = missing_files(root, names)
    if still_missing:
        raise MNISTDataError(
            missing_data_message(root, f"the download did not produce {still_missing[0]}")
        )


def remove_empty(folders: list[Path]) -> None:
    """Remove each of ``folders`` (deepest first) that exists and is empty."""
    for folder in folders:
        try:
            folder.rmdir()
        except OSError:  # not empty, or already gone
            continue


def default_data_dir() -> str:
    """``$MNIST_DATA_DIR`` if set, else a per-user cache (``$XDG_CACHE_HOME`` or ~/.cache)."""
    if os.environ.get("MNIST_DATA_DIR"):
        return os.path.expanduser(os.environ["MNIST_DATA_DIR"])
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(cache, "rnn-mnist")
