"""The checks of notebook 1's first four exercises: ``cell_fn_forward``, ``rnn_forward``,
``cell_fn_backward`` and ``bptt``, each on a few shapes, N = 1 as in the practical and N > 1.

Shape legend: N batch, T steps, D input, H hidden, C classes.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from rnn_reference.checking.exercise import Case, Exercise, check_exercise
from rnn_reference.checking.report import CheckResult
from rnn_reference.checking.vanilla_slips import (
    bptt_slips,
    cell_fn_backward_slips,
    cell_fn_forward_slips,
    rnn_forward_slips,
)
from rnn_reference.practical import (
    bptt,
    cell_fn_backward,
    cell_fn_forward,
    init_model,
    rnn_forward,
)

# (N, D, H, C) of every case: N = 1 as in the practical, then mini-batches; D, H and C differ
# so that a transposed weight shows up as a wrong shape or value.
CELL_SHAPES = ((1, 8, 4, 2), (3, 5, 4, 3), (2, 3, 6, 4))
STEPS = 5
# Scales the readout so that some gradients exceed the practical's clipping value, 5.
LARGE_READOUT = 20.0
PARAMETER_SHAPES = {
    "Wxh": "(D, H)",
    "Whh": "(H, H)",
    "Why": "(H, C)",
    "bh": "(1, H)",
    "by": "(1, C)",
}
ISOLATION_NOTE = "run with the package's {}"


def _gradient_slots(name: str, what: str) -> tuple:
    return tuple(
        (rf"{name}\['{p}'\]", f"{what} of {p}, {shape}") for p, shape in PARAMETER_SHAPES.items()
    )


def cell_problem(N: int, D: int, H: int, C: int, seed: int):
    """A model with nonzero biases, an input (N, D), a state (N, H) and labels (N,)."""
    rng = np.random.default_rng(seed)
    model = init_model(D, H, C, rng)
    model["bh"] = 0.3 * rng.standard_normal((1, H))
    model["by"] = 0.3 * rng.standard_normal((1, C))
    X = rng.standard_normal((N, D))
    h = np.tanh(rng.standard_normal((N, H)))
    y = rng.integers(0, C, size=N)
    return model, X, h, y


def sequence_problem(N: int, D: int, H: int, C: int, seed: int, T: int = STEPS):
    """A model, T inputs (N, D), labels ((T, N), or T ints when N = 1) and a nonzero first
    state (N, H), so that a forward pass that ignores it shows."""
    model, _, _, _ = cell_problem(N, D, H, C, seed)
    rng = np.random.default_rng(seed + 100)
    X = [rng.standard_normal((N, D)) for _ in range(T)]
    y = rng.integers(0, C, size=(T, N)) if N > 1 else rng.integers(0, C, size=T)
    return model, X, y, np.tanh(rng.standard_normal((N, H)))


def label(N: int, D: int, H: int, C: int, **extra) -> str:
    more = "".join(f", {key}={value}" for key, value in extra.items())
    return f"N={N}, D={D}, H={H}, C={C}{more}"


CELL_FORWARD = Exercise(
    name="cell_fn_forward",
    arguments=("X", "h", "model", "train"),
    outputs=("y", "h", "cache"),
    primary=("y", "h"),
    reference=cell_fn_forward,
    slippable=cell_fn_forward_slips,
    slots=(
        ("y", "the logits, or the probabilities when train=False, (N, C)"),
        ("h", "the new state, (N, H)"),
        (r"cache\[0\]", "X"),
        (r"cache\[1\]", "Whh"),
        (r"cache\[2\]", "h, the new state"),
        (r"cache\[3\]", "hprev, the previous state"),
        (r"cache\[4\]", "y, the logits"),
        (r"cache\[5\]", "h_cache, the tanh's output"),
        (r"cache\[6\]\[0\]", "Why, in y_cache"),
        (r"cache\[6\]\[1\]", "h, in y_cache"),
        (r"cache\[6\]", "y_cache, fc_forward's cache (Why, h)"),
    ),
)


def check_cell_fn_forward(fn: Callable) -> CheckResult:
    """Check ``cell_fn_forward(X, h, model, train=True) -> (y, h, cache)``: the logits
    (train=True), the probabilities (train=False), the new state and the practical's cache
    ``(X, Whh, h, hprev, y, h_cache, y_cache)``; and that it leaves its inputs as they were."""
    cases = []
    for seed, (N, D, H, C) in enumerate(CELL_SHAPES):
        model, X, h, _ = cell_problem(N, D, H, C, seed)
        for train in (True, False):
            cases.append(Case(label(N, D, H, C, train=train), (X, h, model, train)))
    return check_exercise(CELL_FORWARD, fn, cases)


RNN_FORWARD = Exercise(
    name="rnn_forward",
    arguments=("X_train", "y_train", "model", "initial_state"),
    outputs=("h", "ys", "caches", "loss"),
    primary=("h", "ys", "loss"),
    reference=rnn_forward,
    slippable=rnn_forward_slips,
    slots=(
        ("h", "the last step's state, (N, H)"),
        (r"ys\[(\d+)\]", "the logits of step {0}, (N, C)"),
        (r"caches\[(\d+)\]\[(\d+)\].*", "part {1} of step {0}'s cache"),
        ("caches", "one cache per step"),
        ("loss", "the sum of the steps' losses"),
    ),
    isolate={"cell_fn_forward": cell_fn_forward},
    note=ISOLATION_NOTE.format("cell_fn_forward"),
)


def check_rnn_forward(fn: Callable) -> CheckResult:
    """Check ``rnn_forward(X_train, y_train, model, initial_state, verbose) -> (h, ys, caches,
    loss)``: the final state, every step's logits and cache, and the summed loss."""
    cases = []
    for seed, (N, D, H, C) in enumerate(CELL_SHAPES):
        model, X, y, h0 = sequence_problem(N, D, H, C, seed)
        cases.append(Case(label(N, D, H, C, T=STEPS), (X, y, model, h0), {"verbose": False}))
    return check_exercise(RNN_FORWARD, fn, cases)


CELL_BACKWARD = Exercise(
    name="cell_fn_backward",
    arguments=("y_pred", "y_train", "dh_next", "cache"),
    outputs=("grad", "dh_next"),
    primary=("grad", "dh_next"),
    reference=cell_fn_backward,
    slippable=cell_fn_backward_slips,
    slots=(
        *_gradient_slots("grad", "this step's gradient"),
        ("dh_next", "the gradient for the previous state, dh @ Whh.T, (N, H)"),
        (r"cache\[5\]", "h_cache"),
    ),
)


def check_cell_fn_backward(fn: Callable) -> CheckResult:
    """Check ``cell_fn_backward(y_pred, y_train, dh_next, cache) -> (grad, dh_next)``, with the
    practical's cache from the package's ``cell_fn_forward`` and a random, nonzero ``dh_next``."""
    cases = []
    for seed, (N, D, H, C) in enumerate(CELL_SHAPES):
        model, X, h, y = cell_problem(N, D, H, C, seed)
        y_pred, _, cache = cell_fn_forward(X, h, model)
        dh_next = np.random.default_rng(seed + 200).standard_normal((N, H))
        cases.append(Case(label(N, D, H, C), (y_pred, y, dh_next, cache)))
    return check_exercise(CELL_BACKWARD, fn, cases)


BPTT = Exercise(
    name="bptt",
    arguments=("model", "X_train", "y_train", "initial_state"),
    outputs=("grads", "loss", "last_state"),
    primary=("grads", "loss", "last_state"),
    reference=bptt,
    slippable=bptt_slips,
    slots=(
        *_gradient_slots("grads", "the gradient"),
        ("loss", "the summed loss / T"),
        ("last_state", "rnn_forward's last state, (N, H)"),
    ),
    isolate={"rnn_forward": rnn_forward, "cell_fn_backward": cell_fn_backward},
    note="exact gradients of the summed loss; "
    + ISOLATION_NOTE.format("rnn_forward and cell_fn_backward"),
)


def check_bptt(fn: Callable) -> CheckResult:
    """Check ``bptt(model, X_train, y_train, initial_state) -> (grads, loss, last_state)``: the
    exact, unclipped gradients of the summed loss (one case has gradients above 5, the
    practical's clipping value), the loss / T and the last state."""
    cases = []
    for seed, (N, D, H, C) in enumerate(CELL_SHAPES):
        cases.append(Case(label(N, D, H, C, T=STEPS), sequence_problem(N, D, H, C, seed)))
    model, X, y, h0 = sequence_problem(1, 3, 5, 4, seed=7)
    model["Why"] = LARGE_READOUT * model["Why"]
    cases.append(Case(label(1, 3, 5, 4, T=STEPS) + ", gradients above 5", (model, X, y, h0)))
    return check_exercise(BPTT, fn, cases)
