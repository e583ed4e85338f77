"""Relative errors and a numeric gradient check that reports what it found.

Shape legend: each parameter may have any shape; indices are that shape's multi-indices.

The check perturbs every entry of every parameter by +-h, evaluates the loss with a central
difference ``(L(p + h) - L(p - h)) / (2 h)`` and compares it with the analytic gradient by the
element-wise relative error ``|a - n| / max(1e-8, |a| + |n|)``. The floor 1e-8 (the one the
practical's :func:`relative_error` already uses) makes two zero gradients agree with error 0
instead of the practical's 0/0 = nan, which slipped past its ``>`` test.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np

RELATIVE_ERROR_FLOOR = 1e-8


def elementwise_relative_error(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``|x - y| / max(1e-8, |x| + |y|)`` element by element (0 where both are 0).

    Args:
        x, y: arrays of the same (or broadcastable) shape.

    Returns:
        An array of the broadcast shape.
    """
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    return np.abs(x - y) / np.maximum(RELATIVE_ERROR_FLOOR, np.abs(x) + np.abs(y))


def relative_error(x: np.ndarray, y: np.ndarray) -> float:
    """The practical's relative error: the largest element-wise relative error.

    Args:
        x, y: arrays of the same (or broadcastable) shape.

    Returns:
        ``max |x - y| / max(1e-8, |x| + |y|)``.
    """
    return float(np.max(elementwise_relative_error(x, y)))


@dataclass(frozen=True)
class ParameterCheck:
    """The outcome of checking one parameter.

    Attributes:
        name: the parameter's name. size: its number of entries.
        worst_relative_error: the largest element-wise relative error found.
        worst_index: the multi-index where it occurred.
        analytic, numeric: the two gradients at that index.
        passed: ``worst_relative_error <= error_threshold``.
    """

    name: str
    size: int
    worst_relative_error: float
    worst_index: tuple
    analytic: float
    numeric: float
    passed: bool


@dataclass(frozen=True)
class GradientCheckResult:
    """Per-parameter outcomes of a numeric gradient check; ``passed`` when all passed.

    Attributes:
        checks: one :class:`ParameterCheck` per parameter, in the order checked.
        h: the finite-difference step. error_threshold: the largest relative error allowed.
    """

    checks: tuple
    h: float
    error_threshold: float

    @property
    def passed(self) -> bool:
        return all(check.passed for check in self.checks)

    @property
    def failed(self) -> list:
        """Names of the parameters that failed."""
        return [check.name for check in self.checks if not check.passed]

    @property
    def worst_relative_error(self) -> float:
        return max(check.worst_relative_error for check in self.checks)

    def __getitem__(self, name: str) -> ParameterCheck:
        for check in self.checks:
            if check.name == name:
                return check
        raise KeyError(f"no parameter named {name!r}; checked {[c.name for c in self.checks]}")

    def table(self) -> str:
        """A readable table: one row per parameter, then the overall verdict."""
        header = (
            f"{'parameter':<10} {'size':>6} {'worst rel. error':>16} {'at index':<12} "
            f"{'analytic':>13} {'numeric':>13}  result"
        )
        lines = [header, "-" * len(header)]
        for c in self.checks:
            lines.append(
                f"{c.name:<10} {c.size:>6} {c.worst_relative_error:>16.3e} "
                f"{str(c.worst_index):<12} {c.analytic:>13.6e} {c.numeric:>13.6e}  "
                f"{'PASSED' if c.passed else 'FAILED'}"
            )
        verdict = "PASSED" if self.passed else "FAILED: " + ", ".join(self.failed)
        lines.append(
            f"gradient check (h={self.h:g}, threshold={self.error_threshold:g}): {verdict}"
        )
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.table()


def gradient_check(
    loss_fn: Callable[[], float],
    params: dict,
    analytic_grads: dict,
    names: Iterable[str] | None = None,
    h: float = 1e-5,
    error_threshold: float = 1e-6,
) -> GradientCheckResult:
    """Compare analytic gradients with central differences, entry by entry.

    Args:
        loss_fn: evaluates the loss at the current values of ``params`` (no arguments).
        params: name -> float array; each entry is perturbed in place and restored.
        analytic_grads: name -> array of the same shape as ``params[name]``.
        names: the parameters to check (default: all keys of ``analytic_grads``).
        h: finite-difference step. error_threshold: largest relative error that passes.

    Returns:
        A :class:`GradientCheckResult`.
    """
    names = list(analytic_grads) if names is None else list(names)
    for name in names:
        if name not in params or name not in analytic_grads:
            raise KeyError(f"parameter {name!r} must be in both params and analytic_grads")
        if not np.issubdtype(params[name].dtype, np.floating):
            raise TypeError(f"parameter {name!r} must be a float array; got {params[name].dtype}")
        if np.shape(analytic_grads[name]) != params[name].shape:
            raise ValueError(
                f"gradient of {name!r} has shape {np.shape(analytic_grads[name])}; "
                f"the parameter has {params[name].shape}"
            )
    checks = []
    for name in names:
        parameter, analytic = params[name], np.asarray(analytic_grads[name], dtype=float)
        numeric = np.empty_like(analytic)
        for ix in np.ndindex(parameter.shape):
            original = parameter[ix]
            try:
                parameter[ix] = original + h
                loss_plus = loss_fn()
                parameter[ix] = original - h
                loss_minus = loss_fn()
            finally:
                parameter[ix] = original
            numeric[ix] = (loss_plus - loss_minus) / (2 * h)
        errors = elementwise_relative_error(analytic, numeric)
        worst = np.unravel_index(np.argmax(errors), errors.shape)
        worst = tuple(int(i) for i in worst)
        checks.append(
            ParameterCheck(
                name=name,
                size=parameter.size,
                worst_relative_error=float(errors[worst]),
                worst_index=worst,
                analytic=float(analytic[worst]),
                numeric=float(numeric[worst]),
                passed=bool(errors[worst] <= error_threshold),
            )
        )
    return GradientCheckResult(checks=tuple(checks), h=h, error_threshold=error_threshold)
