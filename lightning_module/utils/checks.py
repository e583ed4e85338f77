"""Argument checks shared by the model, the data module, the GRU layer, the CLI and the tools.

Each raises ``error`` (ValueError unless a caller needs its own type) with one line naming the
argument, what is allowed and what was given, so the CLI can print it as it is.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable
from pathlib import Path


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def require_int(
    name: str,
    value: object,
    minimum: int,
    maximum: int | None = None,
    *,
    optional: bool = False,
    error: type[Exception] = ValueError,
) -> int | None:
    """Return ``value`` if it is an int in [minimum, maximum] (or None when ``optional``)."""
    if optional and value is None:
        return None
    if not _is_int(value) or value < minimum or (maximum is not None and value > maximum):
        allowed = f">= {minimum}" if maximum is None else f"in [{minimum}, {maximum}]"
        none = "None or " if optional else ""
        raise error(f"{name} must be {none}an integer {allowed}, got {value!r}")
    return value


def require_number(
    name: str,
    value: object,
    low: float | None = None,
    high: float | None = None,
    *,
    low_open: bool = False,
    high_open: bool = False,
    what: str = "a number",
    error: type[Exception] = ValueError,
) -> float:
    """Return ``value`` if it is a finite-or-bounded real in the interval; NaN is refused."""
    ok = _is_number(value) and not math.isnan(value)
    if ok and low is not None:
        ok = value > low if low_open else value >= low
    if ok and high is not None:
        ok = value < high if high_open else value <= high
    if not ok:
        if low is not None and high is not None:
            allowed = f"in {'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
        elif low is not None:
            allowed = f"{'>' if low_open else '>='} {low:g}"
        elif high is not None:
            allowed = f"{'<' if high_open else '<='} {high:g}"
        else:
            allowed = "(not NaN)"
        raise error(f"{name} must be {what} {allowed}, got {value!r}")
    return value


def require_choice(
    name: str, value: object, choices: Iterable[object], *, error: type[Exception] = ValueError
) -> object:
    """Return ``value`` if it is one of ``choices``."""
    choices = tuple(choices)
    if value not in choices:
        raise error(f"{name} must be one of {choices}, got {value!r}")
    return value


def require_writable_folder(
    name: str, path: str | os.PathLike, *, error: type[Exception] = ValueError
) -> Path:
    """Return ``path`` if it is a folder this process can write in, or one it can create.

    A missing folder is fine when its nearest existing ancestor is a writable folder (the
    writer creates the rest); refused: a file in the way, or a read-only ancestor.
    """
    folder = Path(path).expanduser()
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        if existing == folder:
            raise error(f"{name} {folder} is a file, not a folder")
        raise error(f"{name} {folder} cannot be created: {existing} is a file, not a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        where = "" if existing == folder else f" ({existing}, where it would be created)"
        raise error(f"{name} {folder} is not writable{where}: read-only or no permission")
    return folder


def require_writable_file(
    name: str, path: str | os.PathLike, *, error: type[Exception] = ValueError
) -> Path:
    """Return ``path`` if a file can be written there (missing parent folders are created)."""
    target = Path(path).expanduser()
    if target.is_dir():
        raise error(f"{name} {target} is a folder, not a file")
    require_writable_folder(f"the folder of {name}", target.parent, error=error)
    return target


def at_least(minimum: int):
    """An argparse ``type``: an integer >= ``minimum``, refused with the option's usage line."""
    import argparse

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be >= {minimum}, got {value}")
        return value

    return parse


def split_at_double_dash(argv: list[str]) -> tuple[list[str], list[str]]:
    """A script's own options and, after the first ``--``, the options it passes to the CLI."""
    if "--" not in argv:
        return list(argv), []
    split = argv.index("--")
    return argv[:split], argv[split + 1 :]
