"""One-term changes of a reference ("slips"), the family of named mistakes a checker compares a
learner's outputs with, and the alternatives shared by every cell (derivatives, sums, orders).

A *slippable* reference computes each term as ``slip(term, right, name=(cause, lambda: wrong))``:
with no slip chosen it is the reference; ``Slip({term: name})`` makes that one term wrong. Run
once, a :class:`Slip` records every term and alternative, so the family of variants is the
reference's own list of one-term changes, never a separate list that could drift from it.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

import numpy as np

from rnn_reference.layers import sigmoid

# arctanh of a tanh output recovers the pre-activation; the clip keeps +-1 finite
_OPEN_INTERVAL = 1 - 1e-15


class Slip:
    """The slips to make (``{term: alternative}``, empty for the reference) and, as it runs, the
    record of every term met and its alternatives with their causes."""

    def __init__(self, chosen: dict | None = None):
        self.chosen = dict(chosen or {})
        self.found: dict = {}

    def __call__(self, term: str, right, **wrong):
        """``right``, or the chosen alternative of ``term``: each keyword is
        ``alternative=(cause, thunk)``, the thunk computing the wrong value."""
        causes = self.found.setdefault(term, {})
        for name, (cause, _) in wrong.items():
            causes.setdefault(name, cause)
        alternative = self.chosen.get(term)
        if alternative in wrong:
            return wrong[alternative][1]()
        return right


def discover(slippable: Callable, calls) -> list:
    """Every one-term change of ``slippable``: ``[(term, alternative, cause)]``, found by running
    it (without a slip) on each ``(args, kwargs)`` of ``calls``."""
    probe = Slip()
    for args, kwargs in calls:
        try:
            slippable(*args, slip=probe, **kwargs)
        except Exception:  # a term met before the error is still recorded
            pass
    return [
        (term, name, cause)
        for term, alternatives in probe.found.items()
        for name, cause in alternatives.items()
    ]


# --- alternatives shared by the cells ----------------------------------------------------------


def tanh_derivative(out, upstream, name: str) -> dict:
    """Wrong ways to write ``upstream * (1 - out**2)``, the gradient through ``out = tanh(a)``."""
    pre = np.arctanh(np.clip(out, -_OPEN_INTERVAL, _OPEN_INTERVAL))
    right = f"1 - {name}**2"
    return {
        "skipped": (
            f"the gradient skips the tanh of {name}: multiply by its derivative, {right}",
            lambda: upstream,
        ),
        "tanh_of_output": (
            f"the tanh's derivative applies tanh to {name}, which is already tanh's output: "
            f"it is {right}, not 1 - np.tanh({name})**2",
            lambda: upstream * (1 - np.tanh(out) ** 2),
        ),
        "of_pre_activation": (
            f"the tanh's derivative is taken from the pre-activation a as 1 - a**2; it is "
            f"1 - tanh(a)**2 = {right}, with the tanh's output",
            lambda: upstream * (1 - pre**2),
        ),
        "sigmoid_form": (
            f"{name} * (1 - {name}) is a sigmoid's derivative; the tanh's is {right}",
            lambda: upstream * out * (1 - out),
        ),
        "unsquared": (
            f"the tanh's derivative is {right}, not 1 - {name}",
            lambda: upstream * (1 - out),
        ),
        "square_outside": (
            f"the tanh's derivative is {right}, not (1 - {name})**2",
            lambda: upstream * (1 - out) ** 2,
        ),
    }


def sigmoid_derivative(out, upstream, name: str) -> dict:
    """Wrong ways to write ``upstream * out * (1 - out)``, the gradient through a sigmoid."""
    right = f"{name} * (1 - {name})"
    return {
        "skipped": (
            f"the gradient skips the sigmoid of gate {name}: multiply by its derivative, {right}",
            lambda: upstream,
        ),
        "tanh_form": (
            f"gate {name} is a sigmoid: its derivative is {right}, not 1 - {name}**2 (a tanh's)",
            lambda: upstream * (1 - out**2),
        ),
        "sigmoid_of_output": (
            f"the derivative of gate {name} applies sigmoid to {name}, which is already the "
            f"sigmoid's output: it is {right}",
            lambda: upstream * sigmoid(out) * (1 - sigmoid(out)),
        ),
    }


def batch_sum(d, name: str, shape: str) -> dict:
    """Wrong ways to sum a bias's gradient ``d`` (N, K) over the batch, into ``shape``
    (``"(1, H)"``: summed with keepdims; ``"(3H,)"``: without)."""
    keepdims = shape.startswith("(1,")
    right = f"np.sum(..., axis=0{', keepdims=True' if keepdims else ''})"
    wrong = {
        "not_summed": (
            f"{name} is not summed over the batch: it must have the bias's shape {shape}, {right}",
            lambda: d,
        ),
        "averaged": (
            f"{name} is averaged over the batch; the loss's gradient is already divided by N: "
            f"sum it, {right}",
            lambda: np.mean(d, axis=0, keepdims=keepdims),
        ),
        "other_axis": (
            f"{name} is summed over axis 1; axis 0 is the batch: {right}",
            lambda: np.sum(d, axis=1, keepdims=keepdims),
        ),
        "keepdims" if not keepdims else "no_keepdims": (
            f"{name} must have the bias's shape {shape}: {right}",
            lambda: np.sum(d, axis=0, keepdims=not keepdims),
        ),
    }
    return wrong


def orders(right: tuple, what: str, known: dict | None = None) -> dict:
    """Every other order of the gate blocks ``right``: ``order_xyz=(cause, lambda: order)``."""
    known = known or {}
    wrong = {}
    for order in itertools.permutations(right):
        if order == right:
            continue
        named = f" ({known[order]})" if order in known else ""
        cause = (
            f"{what} in the order {', '.join(order)}{named}; torch stacks them {', '.join(right)}"
        )
        wrong["order_" + "".join(order)] = (cause, lambda order=order: order)
    return wrong


def swaps(values: tuple, names: tuple, what: str) -> dict:
    """The tuple ``values`` with two same-shaped arrays exchanged, for each such pair."""
    wrong = {}
    for i, j in itertools.combinations(range(len(values)), 2):
        a, b = values[i], values[j]
        same_shape = isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.shape == b.shape
        if same_shape and not np.array_equal(a, b):  # equal arrays swapped change nothing
            swapped = list(values)
            swapped[i], swapped[j] = b, a
            wrong[f"swap_{names[i]}_{names[j]}"] = (
                f"{what} has {names[i]} and {names[j]} swapped: it is ({', '.join(names)})",
                lambda swapped=tuple(swapped): swapped,
            )
    return wrong
