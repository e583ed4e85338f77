"""The checks of notebook 2's exercises: one GRU step and one LSTM step, forward and backward,
against the package's numpy cells (themselves checked against ``torch.autograd`` by the tests).

Shape legend: N batch, D input, H hidden.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from rnn_reference.checking.exercise import Case, Exercise, check_exercise
from rnn_reference.checking.gated_slips import (
    GRU_CACHE,
    LSTM_CACHE,
    gru_step_backward_slips,
    gru_step_forward_slips,
    lstm_step_backward_slips,
    lstm_step_forward_slips,
)
from rnn_reference.checking.report import CheckResult
from rnn_reference.gru import gru_init_params, gru_step_backward, gru_step_forward
from rnn_reference.lstm import lstm_init_params, lstm_step_backward, lstm_step_forward

# (N, D, H) of the cases: N = 1 and batches; D and H differ so a transposed weight shows.
GATED_SHAPES = ((1, 3, 4), (4, 5, 3), (2, 6, 2))
PARAMETER_SLOTS = {
    "weight_ih": "(kH, D)",
    "weight_hh": "(kH, H)",
    "bias_ih": "(kH,)",
    "bias_hh": "(kH,)",
}
NOTE = "reference: the package's numpy {}, equal to torch.nn.{} under torch.autograd"


def gated_problem(kind: str, N: int, D: int, H: int, seed: int):
    """Parameters (larger than torch's default, so every gate is away from 1/2), an input, a
    state, a memory and upstream gradients for the state and the memory."""
    rng = np.random.default_rng(seed)
    init = gru_init_params if kind == "gru" else lstm_init_params
    params = {name: 2.0 * value for name, value in init(D, H, rng).items()}
    x = rng.standard_normal((N, D))
    h_prev = np.tanh(rng.standard_normal((N, H)))
    c_prev = rng.standard_normal((N, H))
    dh = rng.standard_normal((N, H))
    dc = rng.standard_normal((N, H))
    return params, x, h_prev, c_prev, dh, dc


def _label(N: int, D: int, H: int) -> str:
    return f"N={N}, D={D}, H={H}"


def _slots(gates: int, cache: tuple, parameters: str) -> tuple:
    k = f"{gates}"
    named = tuple((rf"cache\[{i}\]", name) for i, name in enumerate(cache) if name != "params")
    grads = tuple(
        (rf"{parameters}\['{p}'\]", f"the gradient of {p}, {shape.replace('k', k)}")
        for p, shape in PARAMETER_SLOTS.items()
    )
    params = (rf"cache\[{len(cache) - 1}\]\['(\w+)'\]", "params['{0}']")
    return (*named, *grads, params)


GRU_FORWARD = Exercise(
    name="gru_step_forward",
    arguments=("x", "h_prev", "params"),
    outputs=("h", "cache"),
    primary=("h",),
    reference=gru_step_forward,
    slippable=gru_step_forward_slips,
    slots=(("h", "the new state, (N, H)"), *_slots(3, GRU_CACHE, "dparams")),
    note=NOTE.format("gru_step_forward", "GRUCell"),
)
GRU_BACKWARD = Exercise(
    name="gru_step_backward",
    arguments=("dh", "cache"),
    outputs=("dx", "dh_prev", "dparams"),
    primary=("dx", "dh_prev", "dparams"),
    reference=gru_step_backward,
    slippable=gru_step_backward_slips,
    slots=(
        ("dx", "the input's gradient, (N, D)"),
        ("dh_prev", "the previous state's gradient, (N, H)"),
        *_slots(3, GRU_CACHE, "dparams"),
    ),
    note=NOTE.format("gru_step_backward", "GRUCell"),
)
LSTM_FORWARD = Exercise(
    name="lstm_step_forward",
    arguments=("x", "h_prev", "c_prev", "params"),
    outputs=("h", "c", "cache"),
    primary=("h", "c"),
    reference=lstm_step_forward,
    slippable=lstm_step_forward_slips,
    slots=(
        ("h", "the new state, (N, H)"),
        ("c", "the new memory, (N, H)"),
        *_slots(4, LSTM_CACHE, "dparams"),
    ),
    note=NOTE.format("lstm_step_forward", "LSTMCell"),
)
LSTM_BACKWARD = Exercise(
    name="lstm_step_backward",
    arguments=("dh", "dc", "cache"),
    outputs=("dx", "dh_prev", "dc_prev", "dparams"),
    primary=("dx", "dh_prev", "dc_prev", "dparams"),
    reference=lstm_step_backward,
    slippable=lstm_step_backward_slips,
    slots=(
        ("dx", "the input's gradient, (N, D)"),
        ("dh_prev", "the previous state's gradient, (N, H)"),
        ("dc_prev", "the previous memory's gradient, dc_t * f, (N, H)"),
        *_slots(4, LSTM_CACHE, "dparams"),
    ),
    note=NOTE.format("lstm_step_backward", "LSTMCell"),
)


def check_gru_step_forward(fn: Callable) -> CheckResult:
    """Check ``gru_step_forward(x, h_prev, params) -> (h, cache)``: the new state, and the
    cache ``(x, h_prev, r, z, n, hn, params)``."""
    cases = []
    for seed, (N, D, H) in enumerate(GATED_SHAPES):
        params, x, h_prev, _, _, _ = gated_problem("gru", N, D, H, seed)
        cases.append(Case(_label(N, D, H), (x, h_prev, params)))
    return check_exercise(GRU_FORWARD, fn, cases)


def check_gru_step_backward(fn: Callable) -> CheckResult:
    """Check ``gru_step_backward(dh, cache) -> (dx, dh_prev, dparams)``, with the cache of the
    package's :func:`~rnn_reference.gru.gru_step_forward`."""
    cases = []
    for seed, (N, D, H) in enumerate(GATED_SHAPES):
        params, x, h_prev, _, dh, _ = gated_problem("gru", N, D, H, seed)
        _, cache = gru_step_forward(x, h_prev, params)
        cases.append(Case(_label(N, D, H), (dh, cache)))
    return check_exercise(GRU_BACKWARD, fn, cases)


def check_lstm_step_forward(fn: Callable) -> CheckResult:
    """Check ``lstm_step_forward(x, h_prev, c_prev, params) -> (h, c, cache)``: the new state
    and memory, and the cache ``(x, h_prev, c_prev, i, f, g, o, tanh_c, params)``."""
    cases = []
    for seed, (N, D, H) in enumerate(GATED_SHAPES):
        params, x, h_prev, c_prev, _, _ = gated_problem("lstm", N, D, H, seed)
        cases.append(Case(_label(N, D, H), (x, h_prev, c_prev, params)))
    return check_exercise(LSTM_FORWARD, fn, cases)


def check_lstm_step_backward(fn: Callable) -> CheckResult:
    """Check ``lstm_step_backward(dh, dc, cache) -> (dx, dh_prev, dc_prev, dparams)``, with the
    cache of the package's :func:`~rnn_reference.lstm.lstm_step_forward` and a random, nonzero
    ``dc`` arriving from the next step."""
    cases = []
    for seed, (N, D, H) in enumerate(GATED_SHAPES):
        params, x, h_prev, c_prev, dh, dc = gated_problem("lstm", N, D, H, seed)
        _, _, cache = lstm_step_forward(x, h_prev, c_prev, params)
        cases.append(Case(_label(N, D, H), (dh, dc, cache)))
    return check_exercise(LSTM_BACKWARD, fn, cases)
