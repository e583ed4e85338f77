"""Refuse an output location that is one of the command's inputs or part of an earlier run.

An output written over the checkpoint being loaded, a config file, an image being classified or a
run's files destroys the thing the command was asked to use or keep; one written into the folder
being classified becomes an input of the next predict. Every comparison is made on the paths as
the file system resolves them (symbolic links followed, hard links recognised), so another
spelling of the same file is caught too.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from lightning_module.training.run_folders import CHECKPOINT_FOLDER, version_of

CONFIG_FILE = "config.yaml"
EVENTS_PREFIX = "events.out.tfevents"


def resolved(path: str | os.PathLike) -> Path:
    """``path`` absolute with every symbolic link followed (a missing tail kept as written)."""
    return Path(os.path.realpath(Path(path).expanduser()))


def same_file(a: str | os.PathLike, b: str | os.PathLike) -> bool:
    """Whether ``a`` and ``b`` name one file: the same resolved path, or the same inode."""
    if resolved(a) == resolved(b):
        return True
    try:
        return os.path.samefile(a, b)
    except OSError:  # one of them does not exist: then only the resolved paths could agree
        return False


def is_inside(path: str | os.PathLike, folder: str | os.PathLike) -> bool:
    """Whether ``path`` resolves to a location at any depth below the resolved ``folder``."""
    return resolved(folder) in resolved(path).parents


def is_run_folder(folder: Path) -> bool:
    """A fit's ``version_<n>`` folder: it holds checkpoints, a saved config or TB events."""
    if version_of(folder) is None or not folder.is_dir():
        return False
    if (folder / CHECKPOINT_FOLDER).is_dir() or (folder / CONFIG_FILE).is_file():
        return True
    return any(entry.name.startswith(EVENTS_PREFIX) for entry in os.scandir(folder))


def enclosing_run_folder(path: str | os.PathLike) -> Path | None:
    """The existing run folder that ``path`` resolves into, or None."""
    return next((folder for folder in resolved(path).parents if is_run_folder(folder)), None)


def output_clash(
    name: str,
    output: str | os.PathLike,
    inputs: Iterable[tuple[str, str | os.PathLike]],
    input_folders: Iterable[tuple[str, str | os.PathLike]],
) -> str | None:
    """Why ``output`` must not be written, or None when nothing forbids it.

    Args:
        name: the output's option, for the message (e.g. ``predictions.output``).
        output: the file the command would write.
        inputs: (how the command was given it, path) of each file the command reads.
        input_folders: (how the command was given it, path) of each folder the command reads
            every file of; the output may be neither inside one nor one of their files.
    """
    for given, path in inputs:
        if same_file(output, path):
            return f"{name} {output} is {given} {path}: writing it would destroy that input"
    for given, folder in input_folders:
        if not os.path.isdir(folder):
            continue
        if is_inside(output, folder):
            return (
                f"{name} {output} lies in {given} {folder}, the folder being classified: the "
                "next predict would read it as an image; write it outside that folder"
            )
        for entry in Path(folder).rglob("*"):
            if entry.is_file() and same_file(output, entry):
                return (
                    f"{name} {output} is {entry}, a file of {given} {folder}: writing it would "
                    "destroy that input"
                )
    run = enclosing_run_folder(output)
    if run is not None:
        return (
            f"{name} {output} lies in the run folder {run}: a run's files are never "
            "overwritten or added to; write it outside the run folders"
        )
    return None
