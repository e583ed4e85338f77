"""Comparing one output of a learner's function with the reference's, and saying what the
difference means (a flipped sign, a scale factor, a transpose, close or completely different).
"""

from __future__ import annotations

import numpy as np

from rnn_reference.gradient_check import elementwise_relative_error

TOLERANCE = 1e-6  # largest relative error that passes: the references are exact up to rounding
COMPLETELY_DIFFERENT = 0.5  # a relative error this large means unrelated values
CLOSE = 1e-3


def close(mine, reference) -> bool:
    """Same shape and every entry within :data:`TOLERANCE` (relative, floored at 1e-8)."""
    mine, reference = np.asarray(mine, dtype=float), np.asarray(reference, dtype=float)
    if mine.shape != reference.shape:
        return False
    return not mine.size or float(np.max(elementwise_relative_error(mine, reference))) <= TOLERANCE


def _as_float_array(value):
    if isinstance(value, np.ndarray | float | int | np.floating | np.integer):
        try:
            return np.asarray(value, dtype=float)
        except (TypeError, ValueError):
            return None
    return None


def _factor(k: float) -> str | None:
    """``k`` as ``"5x"`` or ``"1/5x"`` when it is a whole number or its inverse, else None."""
    for n in range(2, 101):
        if abs(abs(k) - n) < 1e-6 * n:
            return f"{round(k)}x"
        if abs(abs(k) * n - 1) < 1e-6:
            return f"{'-' if k < 0 else ''}1/{n}x"
    return None


def meaning(mine: np.ndarray, reference: np.ndarray, error: float) -> str:
    """What a wrong array's difference from the reference suggests, in a few words."""
    if close(mine, -reference):
        return "the sign is flipped (exactly -1x the expected)"
    if not np.any(mine):
        return "all zeros"
    if reference.ndim == 2 and reference.shape[0] == reference.shape[1] > 1:
        if close(mine, reference.T):
            return "it is the transpose of the expected"
    norm = float(np.sum(reference * reference))
    if norm > 0:
        k = float(np.sum(mine * reference)) / norm
        # any number is a multiple of another: for one number, only a whole factor says much
        factor = _factor(k) or (f"{k:.3g}x" if mine.size > 1 else None)
        if factor and close(mine, k * reference):
            return f"exactly {factor} the expected: a factor too many or too few"
    right = int(np.sum(elementwise_relative_error(mine, reference) <= TOLERANCE))
    some = f"; {right} of {mine.size} entries are right" if 0 < right < mine.size else ""
    if error >= COMPLETELY_DIFFERENT:
        return "completely different" + some
    if error >= CLOSE:
        return "close, but not equal: a small term, a scale or a sign?" + some
    return "nearly equal: a rounding-level slip, e.g. an approximation" + some


def difference(mine, reference) -> tuple:
    """``(None, error)`` when ``mine`` matches ``reference``, else ``(what is wrong, error)``."""
    reference = np.asarray(reference, dtype=float)
    mine_array = _as_float_array(mine)
    if mine_array is None:
        return f"is a {type(mine).__name__}, not an array", np.inf
    if mine_array.shape != reference.shape:
        message = f"has shape {mine_array.shape}, expected {reference.shape}"
        if mine_array.shape == reference.shape[::-1] and close(mine_array.T, reference):
            message += ": it is the transpose of the expected"
        return message, np.inf
    if not np.all(np.isfinite(mine_array)):
        return "holds nan or inf", np.inf
    if not mine_array.size:
        return None, 0.0
    error = float(np.max(elementwise_relative_error(mine_array, reference)))
    if error <= TOLERANCE:
        return None, error
    return f"is off by relative error {error:.1e}: {meaning(mine_array, reference, error)}", error
