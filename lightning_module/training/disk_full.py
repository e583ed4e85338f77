"""The one line a full disk ends a command with: the folder that is full, its free space, and
advice that fits what is on disk (resume only where a ``last.ckpt`` exists to resume from).
"""

from __future__ import annotations

import errno
import shutil
from pathlib import Path

from lightning_module.training.run_folders import CHECKPOINT_FOLDER, LAST_CHECKPOINT_FILE

DISK_FULL = (errno.ENOSPC, errno.EDQUOT)  # no space left; disk quota exceeded


def free_space(folder: Path) -> str:
    """The free space of the disk holding ``folder`` (or its nearest existing parent)."""
    existing = next((p for p in (folder, *folder.parents) if p.is_dir()), None)
    if existing is None:
        return "unknown free space"
    free = shutil.disk_usage(existing).free
    for unit, size in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if free >= size:
            return f"{free / size:.1f} {unit} free"
    return f"{free} bytes free"


def resumable_checkpoint(folder: Path) -> Path | None:
    """The ``last.ckpt`` of the run that was writing into ``folder`` (its checkpoint folder or
    the run folder itself), or None when no epoch of it finished."""
    for candidate in (
        folder / LAST_CHECKPOINT_FILE,
        folder / CHECKPOINT_FOLDER / LAST_CHECKPOINT_FILE,
    ):
        if candidate.is_file():
            return candidate
    return None


def disk_full_message(exc: OSError) -> str:
    """The message (without the ``rnn-mnist: error:`` prefix) for a write that ran out of space."""
    if not exc.filename:
        return (
            f"no space left on the device ({exc.strerror}); free some space, then run the "
            "command again"
        )
    target = Path(exc.filename).absolute()
    folder = target.parent
    where = f"no space left on the device writing {target} ({exc.strerror}): {folder} has "
    last = resumable_checkpoint(folder)
    if last is None:
        return (
            f"{where}{free_space(folder)}; no finished epoch left a {LAST_CHECKPOINT_FILE} "
            "there, so there is nothing to resume: free some space, then run the command again"
        )
    return (
        f"{where}{free_space(folder)}; every checkpoint is written whole or not at all, so those "
        f"of the last finished epoch are intact: free some space, then resume with --ckpt_path "
        f"last ({last} holds the last finished epoch)"
    )
