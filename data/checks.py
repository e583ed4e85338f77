"""The data module's argument checks: each raises MNISTDataError naming the argument.

Kept here, not shared with ``lightning_module``, so that ``data`` imports nothing above it.
"""

from __future__ import annotations

import math

from data.errors import MNISTDataError


def check_int(name: str, value: object, minimum: int, maximum: int | None = None) -> int:
    """``value`` if it is an int (not a bool) in [minimum, maximum]."""
    if isinstance(value, int) and not isinstance(value, bool):
        if value >= minimum and (maximum is None or value <= maximum):
            return value
    allowed = f">= {minimum}" if maximum is None else f"in [{minimum}, {maximum}]"
    raise MNISTDataError(f"{name} must be an integer {allowed}, got {value!r}")


def check_fraction(name: str, value: object) -> float:
    """``value`` if it is a real number in (0, 1]."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if not math.isnan(value) and 0 < value <= 1:
            return value
    raise MNISTDataError(f"{name} must be a number in (0, 1], got {value!r}")
