"""One folder per fit: ``<root>/version_<n>/`` holds that run's TensorBoard events, its
``config.yaml`` and its ``checkpoints/``, so no run ever writes into another one's files.

``<root>`` is ``<save_dir>/<name>`` of the first logger (``<default_root_dir>`` without a
logger). The next version is claimed with ``os.mkdir``, which succeeds for exactly one process,
so concurrent fits of one config get different folders; only global rank 0 claims (other DDP
ranks receive the folder from it, the way Lightning broadcasts its checkpoint folder).
``<root>/latest`` is a symlink to the newest run folder that holds a checkpoint, replaced
atomically (a temporary link, then ``os.replace``): a fit that fails before its first checkpoint
never takes it from the run before. Where symlinks cannot be made it is simply absent, and
``newest_with`` finds the same run by its number.
"""

from __future__ import annotations

import contextlib
import os
import re
from pathlib import Path

VERSION_PREFIX = "version_"
LATEST_LINK = "latest"
CHECKPOINT_FOLDER = "checkpoints"
# ModelCheckpoint.CHECKPOINT_NAME_LAST: the file --ckpt_path last finds
LAST_CHECKPOINT_NAME = "last"
LAST_CHECKPOINT_FILE = f"{LAST_CHECKPOINT_NAME}.ckpt"  # ModelCheckpoint's file extension
_VERSION = re.compile(rf"{VERSION_PREFIX}(\d+)")


def run_root(save_dir: str | os.PathLike | None, name: str | None, default_root_dir: str) -> Path:
    """The folder holding a config's runs, absolute: ``save_dir/name`` (a logger) or
    ``default_root_dir``."""
    folder = Path(default_root_dir) if save_dir is None else Path(save_dir) / (name or "")
    return Path(os.path.abspath(folder.expanduser()))


def run_versions(root: str | os.PathLike) -> list[int]:
    """The version numbers of the run folders under ``root``, ascending."""
    try:
        entries = list(os.scandir(root))
    except (FileNotFoundError, NotADirectoryError):
        return []
    found = [
        int(match.group(1))
        for entry in entries
        if (match := _VERSION.fullmatch(entry.name)) and entry.is_dir(follow_symlinks=False)
    ]
    return sorted(found)


def version_of(run_folder: str | os.PathLike) -> int | None:
    """``n`` for a folder named ``version_<n>``, else None."""
    match = _VERSION.fullmatch(Path(run_folder).name)
    return int(match.group(1)) if match else None


def claim_run_folder(root: str | os.PathLike) -> Path:
    """Create and return ``root/version_<n>`` for the lowest ``n`` above every existing run.

    ``os.mkdir`` fails with FileExistsError for all but one of several processes creating the
    same name, so the loser moves on to the next number: two fits never share a folder.
    """
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    versions = run_versions(root)
    number = versions[-1] + 1 if versions else 0
    while True:
        folder = root / f"{VERSION_PREFIX}{number}"
        try:
            os.mkdir(folder)
        except FileExistsError:
            number += 1
            continue
        return folder


def has_checkpoint(run_folder: str | os.PathLike) -> bool:
    """Whether ``run_folder/checkpoints/`` holds a checkpoint file."""
    with contextlib.suppress(OSError):
        return any(Path(run_folder, CHECKPOINT_FOLDER).glob("*.ckpt"))
    return False


def point_latest(root: str | os.PathLike) -> Path | None:
    """Point ``root/latest`` at the newest run folder that holds a checkpoint; return the link,
    or None where there is none yet or links are impossible (an earlier link is kept then).

    The link always names the highest such version at the time of the call, so of two fits
    calling at once, the one that calls last leaves it on the newest run either way.
    """
    root = Path(root)
    versions = [n for n in run_versions(root) if has_checkpoint(root / f"{VERSION_PREFIX}{n}")]
    if not versions:
        return None
    link = root / LATEST_LINK
    temporary = root / f".{LATEST_LINK}.{os.getpid()}.tmp"
    try:
        with contextlib.suppress(FileNotFoundError):
            os.remove(temporary)
        os.symlink(f"{VERSION_PREFIX}{versions[-1]}", temporary, target_is_directory=True)
        os.replace(temporary, link)  # atomic: readers see the old link or the new one
    except (OSError, NotImplementedError):  # no symlinks here, or "latest" is a real folder
        with contextlib.suppress(OSError):
            os.remove(temporary)
        return None
    return link


def newest_with(root: str | os.PathLike, filename: str) -> Path | None:
    """``root/version_<n>/checkpoints/<filename>`` of the newest run that has it, or None."""
    for number in reversed(run_versions(root)):
        path = Path(root) / f"{VERSION_PREFIX}{number}" / CHECKPOINT_FOLDER / filename
        if path.is_file():
            return path
    return None


def run_folder_of(checkpoint: str | os.PathLike, root: str | os.PathLike) -> Path | None:
    """The run folder under ``root`` that holds ``checkpoint`` in its ``checkpoints/``, or None."""
    folder = Path(checkpoint).resolve().parent
    if folder.name != CHECKPOINT_FOLDER or version_of(folder.parent) is None:
        return None
    if folder.parent.parent != Path(root).resolve():
        return None
    return folder.parent


def free_name(folder: str | os.PathLike, pattern: str) -> str:
    """``pattern.format(k)`` for the lowest k >= 1 that names no file in ``folder`` yet."""
    number = 1
    while (Path(folder) / pattern.format(number)).exists():
        number += 1
    return pattern.format(number)


def name_leaving_root(name: object) -> str | None:
    """Why a logger's run ``name`` (or ``version``) would put files outside its save_dir: it is
    absolute or climbs with ``..``; None for a name that stays inside (or is not a string)."""
    if not isinstance(name, str) or not name:
        return None
    if os.path.isabs(name) or name.startswith("~"):
        return "is an absolute path"
    if ".." in Path(name).parts:
        return "climbs out with '..'"
    return None
