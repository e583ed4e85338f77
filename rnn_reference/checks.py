"""Checkers for the learner's own versions of the practical's functions and the GRU/LSTM steps.

Shape legend: N batch, T steps, D input, H hidden, C classes.

Each ``check_*(fn)`` runs ``fn`` (with the practical's signature) and the package's reference on
the same inputs, for several shapes (N = 1 as in the practical, and N > 1), and returns a
:class:`CheckResult`: ``.passed``, and ``str(result)`` says PASSED with the worst relative error,
or which output is wrong, on which shape and by how much. When a wrong output equals the output
of a classic mistake (the known-wrong variants below, run on the same inputs), the report names
that mistake. A raising ``fn`` is reported, never re-raised. Where ``fn`` calls an earlier
exercise through a global name (``rnn_forward`` calling ``cell_fn_forward``, ``bptt`` calling
``rnn_forward`` and ``cell_fn_backward``, ...), the check runs it with the package's version of
that function, restored afterwards, so the report is about ``fn`` alone. The GRU and LSTM
checkers compare with ``torch.autograd`` (imported when they run); everything else is numpy.
"""

from __future__ import annotations

import contextlib
import io
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from rnn_reference.gradient_check import RELATIVE_ERROR_FLOOR, relative_error
from rnn_reference.gru import gru_init_params, gru_step_backward, gru_step_forward
from rnn_reference.layers import (
    cross_entropy,
    dcross_entropy,
    fc_backward,
    fc_forward,
    sigmoid,
    softmax,
    tanh_backward,
    tanh_forward,
)
from rnn_reference.lstm import lstm_init_params, lstm_step_backward, lstm_step_forward
from rnn_reference.practical import (
    MODEL_PARAMETER_NAMES,
    bptt,
    cell_fn_backward,
    cell_fn_forward,
    init_model,
    rnn_forward,
    rnn_gradient_check,
)

# Where the learner's function calls the earlier exercises by name, the check runs it with the
# package's versions of them instead, so that its report is about this function only.
ISOLATION_NOTE = "run with the package's {}"
TOLERANCE = 1e-6  # largest relative error that passes: the reference is exact up to rounding

# (N, D, H, C) of every case: N = 1 as in the practical, then mini-batches; D, H and C differ
# so that a transposed weight shows up as a wrong shape or value.
CELL_SHAPES = ((1, 8, 4, 2), (3, 5, 4, 3), (2, 3, 6, 4))
# (N, D, H) of the GRU/LSTM step checks.
GATED_SHAPES = ((1, 3, 4), (4, 5, 3), (2, 6, 2))

HINT_DH_NEXT = "you forget to add dh_next (the gradient arriving from step t+1) to dh"
HINT_TANH_PRE = (
    "the tanh derivative is taken from the pre-activation; it is 1 - tanh(a)^2, i.e. "
    "1 - out^2 with the tanh *output* (that is why tanh_forward caches its output)"
)
HINT_TANH_MISSING = "the gradient skips the tanh: multiply by its derivative 1 - h^2"
HINT_BIAS_SUM = (
    "the bias gradient is not summed over the batch: it must have the bias's shape, "
    "e.g. np.sum(dh, axis=0, keepdims=True) (the practical's dbh = dh works only for N = 1)"
)
HINT_HPREV = "dWhh uses the new state h; it multiplies the previous state: hprev.T @ dh"
HINT_TRANSPOSED = "a weight is used transposed (check each product's shapes against the legend)"


@dataclass(frozen=True)
class CaseReport:
    """One case of a check: its shape label, and what went wrong (nothing when it passed)."""

    label: str
    worst_relative_error: float
    problems: tuple = ()
    hints: tuple = ()

    @property
    def passed(self) -> bool:
        return not self.problems


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one checker: ``passed``, and a readable report as ``str(result)``.

    Attributes:
        name: the function checked. cases: one :class:`CaseReport` per shape.
        note: an extra line for the report (e.g. what the reference is).
        compares: the cases compare values (so a worst relative error is worth reporting).
    """

    name: str
    cases: tuple
    note: str = ""
    compares: bool = True

    @property
    def passed(self) -> bool:
        return bool(self.cases) and all(case.passed for case in self.cases)

    @property
    def worst_relative_error(self) -> float:
        return max(case.worst_relative_error for case in self.cases)

    @property
    def all_hints(self) -> list:
        """Every distinct hint, in the order found."""
        return list(dict.fromkeys(hint for case in self.cases for hint in case.hints))

    def report(self) -> str:
        if self.passed:
            worst = self.worst_relative_error
            error = f" (worst relative error {worst:.1e})" if self.compares else ""
            note = f"; {self.note}" if self.note else ""
            return f"{self.name}: PASSED on {len(self.cases)} cases{error}{note}"
        lines = [f"{self.name}: FAILED"]
        if len({case.problems for case in self.cases}) == 1 and len(self.cases) > 1:
            # the same failure everywhere (e.g. an exercise not written yet): say it once
            lines.append(f"  every case ({'; '.join(case.label for case in self.cases)}):")
            lines += [f"    - {problem}" for problem in self.cases[0].problems]
        else:
            for case in self.cases:
                if case.passed:
                    error = f" ({case.worst_relative_error:.1e})" if self.compares else ""
                    lines.append(f"  {case.label}: ok{error}")
                    continue
                lines.append(f"  {case.label}:")
                lines += [f"    - {problem}" for problem in case.problems]
        for hint in self.all_hints:
            lines.append(f"  HINT: {hint}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.report()

    def __repr__(self) -> str:
        return self.report()

    def _repr_pretty_(self, printer, cycle) -> None:
        printer.text(self.report())


@dataclass(frozen=True)
class Raised:
    """What a call raised: the exception's type, message and the last line of its traceback."""

    error: BaseException
    where: str

    def describe(self) -> str:
        return f"raised {type(self.error).__name__}: {self.error}{self.where}"

    def same_as(self, other) -> bool:
        return (
            isinstance(other, Raised)
            and type(other.error) is type(self.error)
            and str(other.error) == str(self.error)
        )


def _call(fn: Callable, *args, **kwargs):
    """``fn(*args, **kwargs)``, or a :class:`Raised` describing its exception (stdout muted)."""
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            return fn(*args, **kwargs)
    except Exception as error:  # the learner's code may raise anything: report, never raise
        frames = traceback.extract_tb(error.__traceback__)
        where = ""
        # where it was raised, unless that is an exercise's own stub
        if len(frames) > 1 and not isinstance(error, NotImplementedError):
            code = f": {frames[-1].line}" if frames[-1].line else ""
            where = f" (line {frames[-1].lineno}{code})"
        return Raised(error, where)


def _copy(value):
    """A deep copy of nested tuples, lists and dicts of arrays (so a call cannot change them)."""
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, dict):
        return {key: _copy(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_copy(item) for item in value)
    return value


def _unpack(value, names: Sequence[str]):
    """Split a returned tuple into named outputs, or a message saying why it can't be."""
    if isinstance(value, tuple | list) and len(value) == len(names):
        return dict(zip(names, value, strict=True))
    got = f"{len(value)} values" if isinstance(value, tuple | list) else type(value).__name__
    return f"must return {len(names)} values ({', '.join(names)}); got {got}"


def _flatten(name: str, value) -> dict:
    """Named arrays of an output: dict entries become ``name[key]``, sequences ``name[i]``."""
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            out.update(_flatten(f"{name}[{key!r}]", item))
        return out
    if isinstance(value, list | tuple):
        out = {}
        for i, item in enumerate(value):
            out.update(_flatten(f"{name}[{i}]", item))
        return out
    return {name: value}


def _difference(mine, reference):
    """None when ``mine`` matches ``reference`` within :data:`TOLERANCE`, else (message, error)."""
    try:
        mine_array = np.asarray(mine, dtype=float)
    except (TypeError, ValueError):
        return f"is a {type(mine).__name__}, not an array", np.inf
    reference = np.asarray(reference, dtype=float)
    if mine_array.shape != reference.shape:
        return f"has shape {mine_array.shape}, expected {reference.shape}", np.inf
    if not np.all(np.isfinite(mine_array)):
        return "holds nan or inf", np.inf
    error = relative_error(mine_array, reference) if mine_array.size else 0.0
    if error > TOLERANCE:
        return f"is off by relative error {error:.2e}", error
    return None, error


def _matches(mine, variant) -> bool:
    if isinstance(mine, Raised) or isinstance(variant, Raised):
        return isinstance(mine, Raised) and mine.same_as(variant)
    message, _ = _difference(mine, variant)
    return message is None


def _compare_case(
    label: str,
    names: Sequence[str],
    mine,
    reference: tuple,
    variants: Sequence[tuple] = (),
    compare: Sequence[str] | None = None,
) -> CaseReport:
    """Compare one call's outputs with the reference's and look for a matching mistake.

    Args:
        label: the case's shape label. names: the names of the returned values.
        mine: what the learner's function returned (or :class:`Raised`).
        reference: the reference's return values.
        variants: ``(hint, outputs)`` of known-wrong implementations on the same inputs.
        compare: the names to compare (default: all).
    """
    compare = list(names if compare is None else compare)
    if isinstance(mine, Raised):
        hints = tuple(hint for hint, outputs in variants if mine.same_as(outputs))
        return CaseReport(label, np.inf, (mine.describe(),), hints)
    unpacked = _unpack(mine, names)
    if isinstance(unpacked, str):
        return CaseReport(label, np.inf, (unpacked,))
    wanted = dict(zip(names, reference, strict=True))
    problems, hints, worst = [], [], 0.0
    for name in compare:
        ref_parts = _flatten(name, wanted[name])
        my_parts = _flatten(name, unpacked[name])
        missing = [part for part in ref_parts if part not in my_parts]
        if missing or len(my_parts) != len(ref_parts):
            problems.append(
                f"{name} has parts {list(my_parts)}, expected {list(ref_parts)}"
                if len(ref_parts) > 1
                else f"{name} has the wrong structure ({type(unpacked[name]).__name__})"
            )
            worst = np.inf
            continue
        for part, ref_value in ref_parts.items():
            message, error = _difference(my_parts[part], ref_value)
            worst = max(worst, error)
            if message is None:
                continue
            problems.append(f"{part} {message}")
            for hint, outputs in variants:
                if isinstance(outputs, Raised) or hint in hints:
                    continue
                variant_parts = _flatten(name, dict(zip(names, outputs, strict=True))[name])
                if part in variant_parts and _matches(my_parts[part], variant_parts[part]):
                    hints.append(hint)
    return CaseReport(label, worst, tuple(problems), tuple(hints))


def _variant_outputs(variants: Sequence[tuple], *args) -> list:
    """Run each ``(hint, fn)`` on copies of ``args``: ``[(hint, outputs or Raised)]``."""
    return [(hint, _call(fn, *_copy(args))) for hint, fn in variants]


@contextlib.contextmanager
def _replaced_global(fn: Callable, name: str, value):
    """Make ``fn`` see ``value`` under the global ``name`` (its module's or notebook's)."""
    namespace = getattr(fn, "__globals__", None)
    if namespace is None or name not in namespace:
        yield False
        return
    original = namespace[name]
    namespace[name] = value
    try:
        yield True
    finally:
        namespace[name] = original


@contextlib.contextmanager
def _references(fn: Callable, **names):
    """Make ``fn`` call the package's functions under these global names, where it calls them,
    so that a check tests ``fn`` alone and not the learner's earlier functions."""
    with contextlib.ExitStack() as stack:
        for name, value in names.items():
            stack.enter_context(_replaced_global(fn, name, value))
        yield


# --- the practical's vanilla RNN --------------------------------------------------------------


def _cell_problem(N: int, D: int, H: int, C: int, seed: int):
    rng = np.random.default_rng(seed)
    model = init_model(D, H, C, rng)
    model["bh"] = 0.3 * rng.standard_normal((1, H))
    model["by"] = 0.3 * rng.standard_normal((1, C))
    X = rng.standard_normal((N, D))
    h = np.tanh(rng.standard_normal((N, H)))
    y = rng.integers(0, C, size=N)
    return model, X, h, y


def _label(N: int, D: int, H: int, C: int, **extra) -> str:
    more = "".join(f", {key}={value}" for key, value in extra.items())
    return f"N={N}, D={D}, H={H}, C={C}{more}"


def _forward_variant(pre_activation: Callable, readout_from_prev: bool = False, soft=False):
    """A cell forward pass with one mistake, returning the practical's cache."""

    def forward(X, h, model, train=True):
        hprev = h.copy()
        h, h_cache = pre_activation(X, hprev, model)
        y, y_cache = fc_forward(hprev if readout_from_prev else h, model["Why"], model["by"])
        cache = (X, model["Whh"], h, hprev, y, h_cache, y_cache)
        if soft or not train:
            y = softmax(y)
        return y, h, cache

    return forward


_CELL_FORWARD_VARIANTS = (
    (
        HINT_TRANSPOSED + ": h_{t-1} Whh, not Whh^T",
        _forward_variant(lambda X, h, m: tanh_forward(h @ m["Whh"].T + X @ m["Wxh"] + m["bh"])),
    ),
    (
        "the bias bh is missing from the pre-activation",
        _forward_variant(lambda X, h, m: tanh_forward(h @ m["Whh"] + X @ m["Wxh"])),
    ),
    (
        "the new state is not squashed by tanh",
        _forward_variant(
            lambda X, h, m: (h @ m["Whh"] + X @ m["Wxh"] + m["bh"],) * 2,
        ),
    ),
    (
        "y is read out from the previous state; it uses the new one, h_t",
        _forward_variant(
            lambda X, h, m: tanh_forward(h @ m["Whh"] + X @ m["Wxh"] + m["bh"]),
            readout_from_prev=True,
        ),
    ),
    (
        "with train=True, y must be the logits: apply the softmax only when train=False",
        _forward_variant(
            lambda X, h, m: tanh_forward(h @ m["Whh"] + X @ m["Wxh"] + m["bh"]), soft=True
        ),
    ),
)

CELL_FORWARD_OUTPUTS = ("y", "h", "cache")


def check_cell_fn_forward(fn: Callable) -> CheckResult:
    """Check ``cell_fn_forward(X, h, model, train=True) -> (y, h, cache)``.

    The logits (train=True), the probabilities (train=False), the new state and the practical's
    cache ``(X, Whh, h, hprev, y, h_cache, y_cache)`` must match the reference's.
    """
    cases = []
    for seed, (N, D, H, C) in enumerate(CELL_SHAPES):
        model, X, h, _ = _cell_problem(N, D, H, C, seed)
        for train in (True, False):
            args = (X, h, model, train)
            reference = cell_fn_forward(*_copy(args))
            variants = _variant_outputs(_CELL_FORWARD_VARIANTS, *args)
            mine = _call(fn, *_copy(args))
            cases.append(
                _compare_case(
                    _label(N, D, H, C, train=train), CELL_FORWARD_OUTPUTS, mine, reference, variants
                )
            )
    return CheckResult("cell_fn_forward", tuple(cases))


def _sequence_problem(N: int, D: int, H: int, C: int, seed: int, T: int = 5):
    model, _, _, _ = _cell_problem(N, D, H, C, seed)
    rng = np.random.default_rng(seed + 100)
    X = [rng.standard_normal((N, D)) for _ in range(T)]
    y = rng.integers(0, C, size=(T, N)) if N > 1 else rng.integers(0, C, size=T)
    return model, X, y, np.zeros((N, H))


def _rnn_forward_mean(X_train, y_train, model, initial_state, verbose=False):
    h, ys, caches, loss = rnn_forward(X_train, y_train, model, initial_state)
    return h, ys, caches, loss / len(X_train)


def _rnn_forward_no_carry(X_train, y_train, model, initial_state, verbose=False):
    out = [cell_fn_forward(x, initial_state, model) for x in X_train]
    loss = sum(cross_entropy(y_pred, y) for (y_pred, _, _), y in zip(out, y_train, strict=True))
    return out[-1][1], [o[0] for o in out], [o[2] for o in out], loss


_RNN_FORWARD_VARIANTS = (
    (
        "the loss is averaged over the steps; rnn_forward returns their sum (bptt divides by T)",
        _rnn_forward_mean,
    ),
    (
        "the state is not carried over: feed each step the h returned by the previous one",
        _rnn_forward_no_carry,
    ),
)

RNN_FORWARD_OUTPUTS = ("h", "ys", "caches", "loss")


def check_rnn_forward(fn: Callable) -> CheckResult:
    """Check ``rnn_forward(X_train, y_train, model, initial_state, verbose) -> (h, ys, caches,
    loss)``: the final state, every step's logits, T caches and the summed loss."""
    cases = []
    for seed, (N, D, H, C) in enumerate(CELL_SHAPES):
        model, X, y, h0 = _sequence_problem(N, D, H, C, seed)
        args = (X, y, model, h0)
        reference = rnn_forward(*_copy(args))
        variants = _variant_outputs(_RNN_FORWARD_VARIANTS, *args)
        with _references(fn, cell_fn_forward=cell_fn_forward):
            mine = _call(fn, *_copy(args), verbose=False)
        case = _compare_case(
            _label(N, D, H, C, T=5),
            RNN_FORWARD_OUTPUTS,
            mine,
            reference,
            variants,
            compare=("h", "ys", "loss"),
        )
        unpacked = None if isinstance(mine, Raised) else _unpack(mine, RNN_FORWARD_OUTPUTS)
        if isinstance(unpacked, dict) and len(unpacked["caches"]) != len(args[1]):
            problem = f"caches holds {len(unpacked['caches'])} entries, expected one per step (5)"
            case = CaseReport(case.label, np.inf, (*case.problems, problem), case.hints)
        cases.append(case)
    return CheckResult("rnn_forward", tuple(cases), note=ISOLATION_NOTE.format("cell_fn_forward"))


def _backward_variant(mistake: str):
    """The practical's ``cell_fn_backward`` with one classic mistake."""

    def backward(y_pred, y_train, dh_next, cache):
        X, Whh, h, hprev, y, h_cache, y_cache = cache
        dy = dcross_entropy(y_pred, y_train)
        dh, dWhy, dby = fc_backward(dy, y_cache)
        if mistake != "dh_next":
            dh = dh + dh_next
        if mistake == "tanh_pre":
            # the pre-activation, recovered from the output
            pre = np.arctanh(np.clip(h_cache, -1 + 1e-15, 1 - 1e-15))
            dh = (1 - pre**2) * dh
        elif mistake != "tanh_missing":
            dh = tanh_backward(dh, h_cache)
        dbh = dh if mistake == "bias" else np.sum(dh, axis=0, keepdims=True)
        dWhh = np.dot((h if mistake == "hprev" else hprev).T, dh)
        if mistake == "transposed":
            dWhh = dWhh.T
        dh_prev = np.dot(dh, Whh if mistake == "transposed" else Whh.T)
        grad = dict(Wxh=np.dot(X.T, dh), Whh=dWhh, Why=dWhy, bh=dbh, by=dby.reshape((1, -1)))
        return grad, dh_prev

    return backward


_CELL_BACKWARD_VARIANTS = tuple(
    (hint, _backward_variant(mistake))
    for hint, mistake in (
        (HINT_DH_NEXT, "dh_next"),
        (HINT_TANH_PRE, "tanh_pre"),
        (HINT_TANH_MISSING, "tanh_missing"),
        (HINT_BIAS_SUM, "bias"),
        (HINT_HPREV, "hprev"),
        (
            HINT_TRANSPOSED + ": Whh's gradient is hprev.T @ dh, and dh_next = dh @ Whh.T",
            "transposed",
        ),
    )
)

CELL_BACKWARD_OUTPUTS = ("grad", "dh_next")


def check_cell_fn_backward(fn: Callable) -> CheckResult:
    """Check ``cell_fn_backward(y_pred, y_train, dh_next, cache) -> (grad, dh_next)``.

    ``cache`` is the practical's ``(X, Whh, h, hprev, y, h_cache, y_cache)`` from the package's
    :func:`~rnn_reference.practical.cell_fn_forward`; ``dh_next`` is a random, nonzero gradient.
    """
    cases = []
    for seed, (N, D, H, C) in enumerate(CELL_SHAPES):
        model, X, h, y = _cell_problem(N, D, H, C, seed)
        y_pred, _, cache = cell_fn_forward(X, h, model)
        dh_next = np.random.default_rng(seed + 200).standard_normal((N, H))
        args = (y_pred, y, dh_next, cache)
        reference = cell_fn_backward(*_copy(args))
        variants = _variant_outputs(_CELL_BACKWARD_VARIANTS, *args)
        mine = _call(fn, *_copy(args))
        cases.append(
            _compare_case(_label(N, D, H, C), CELL_BACKWARD_OUTPUTS, mine, reference, variants)
        )
    return CheckResult("cell_fn_backward", tuple(cases))


def _bptt_variant(mistake: str):
    """The practical's ``bptt`` (without its clip) with one classic mistake."""

    def variant(model, X_train, y_train, initial_state):
        last_state, ys, caches, loss = rnn_forward(X_train, y_train, model, initial_state)
        if mistake != "loss_sum":
            loss /= len(X_train)
        if mistake == "dh_shape":
            dh_next = np.zeros((1, last_state.shape[0]))  # the practical's (1, N)
        else:
            dh_next = np.zeros_like(last_state)
        grads = {name: np.zeros_like(model[name]) for name in MODEL_PARAMETER_NAMES}
        steps = range(len(X_train)) if mistake == "forward_order" else reversed(range(len(X_train)))
        for t in steps:
            grad, dh_next = cell_fn_backward(ys[t], y_train[t], dh_next, caches[t])
            for name in grads:
                grads[name] = grad[name] if mistake == "overwrite" else grads[name] + grad[name]
        return grads, loss, last_state

    return variant


_BPTT_VARIANTS = tuple(
    (hint, _bptt_variant(mistake))
    for hint, mistake in (
        ("bptt returns the loss divided by the number of steps T", "loss_sum"),
        (
            "dh_next starts as np.zeros((1, N)); it is the state's gradient, shape (N, H): "
            "np.zeros_like(last_state)",
            "dh_shape",
        ),
        ("go backwards in time: for t in reversed(range(T))", "forward_order"),
        ("add each step's gradient into grads (+=) instead of replacing it", "overwrite"),
    )
)

BPTT_OUTPUTS = ("grads", "loss", "last_state")


def check_bptt(fn: Callable) -> CheckResult:
    """Check ``bptt(model, X_train, y_train, initial_state) -> (grads, loss, last_state)``.

    The gradients must be the exact (unclipped) gradients of the summed loss; the problems are
    small enough that the practical's clip at +-5 changes nothing.
    """
    cases = []
    for seed, (N, D, H, C) in enumerate(CELL_SHAPES):
        args = _sequence_problem(N, D, H, C, seed)
        reference = bptt(*_copy(args))
        variants = _variant_outputs(_BPTT_VARIANTS, *args)
        with _references(fn, rnn_forward=rnn_forward, cell_fn_backward=cell_fn_backward):
            mine = _call(fn, *_copy(args))
        cases.append(
            _compare_case(_label(N, D, H, C, T=5), BPTT_OUTPUTS, mine, reference, variants)
        )
    note = "exact gradients of the summed loss; " + ISOLATION_NOTE.format(
        "rnn_forward and cell_fn_backward"
    )
    return CheckResult("bptt", tuple(cases), note=note)


def _practical_relative_error_check(model, x, y, init_state, h=0.001, error_threshold=0.01):
    """The practical's gradient check with its 0/0: ``|a - n| / (|a| + |n|)`` without a floor."""
    grads, _, _ = bptt(model, x, y, init_state)
    for name in MODEL_PARAMETER_NAMES:
        parameter = model[name]
        for ix in np.ndindex(parameter.shape):
            original = parameter[ix]
            parameter[ix] = original + h
            plus = rnn_forward(x, y, model, init_state)[3]
            parameter[ix] = original - h
            minus = rnn_forward(x, y, model, init_state)[3]
            parameter[ix] = original
            numeric = (plus - minus) / (2 * h)
            analytic = grads[name][ix]
            if np.abs(analytic - numeric) / (np.abs(analytic) + np.abs(numeric)) > error_threshold:
                return False
    return True


def _verdict(value):
    """A gradient check's return value as a bool, or None when it says nothing."""
    if isinstance(value, bool | np.bool_):
        return bool(value)
    passed = getattr(value, "passed", None)
    return bool(passed) if isinstance(passed, bool | np.bool_) else None


def _wrong_bptt(model, X_train, y_train, initial_state, *args, **kwargs):
    grads, loss, last_state = bptt(model, X_train, y_train, initial_state)
    grads = dict(grads, Whh=grads["Whh"] * 1.5)
    return grads, loss, last_state


def check_rnn_gradient_check(fn: Callable) -> CheckResult:
    """Check ``rnn_gradient_check(model, x, y, init_state, h=0.001, error_threshold=0.01)``.

    ``fn`` must return whether the check passed (a bool, or an object with ``.passed``). It is
    run three times: on a correct ``bptt`` (it must pass), with the global ``bptt`` it calls
    replaced by one whose ``Whh`` gradient is 1.5 times too large (it must fail), and on a
    model with input features that are always 0, so that some gradient entries are exactly 0 in
    both ``bptt`` and the finite differences (it must pass, without computing 0/0). Every run
    must leave the model's parameters as they were, and numpy's invalid-value warnings raise.
    """
    cases = []
    for seed, (N, D, H, C) in enumerate(CELL_SHAPES[:2]):
        model, X, y, h0 = _sequence_problem(N, D, H, C, seed)
        X_zero = [np.concatenate([x[:, :-1], np.zeros((N, 1))], axis=1) for x in X]
        label = _label(N, D, H, C, T=5)
        for scenario, inputs, expected in (
            ("correct bptt", X, True),
            ("Whh's gradient 1.5x too large", X, False),
            ("an input feature always 0 (exact zero gradients)", X_zero, True),
        ):
            model_copy = _copy(model)
            replaced = _replaced_global(fn, "bptt", bptt if expected else _wrong_bptt)
            isolated = _references(fn, rnn_forward=rnn_forward)
            with replaced as done, isolated, np.errstate(invalid="raise", divide="raise"):
                if done is False:
                    cases.append(
                        CaseReport(
                            f"{label}, {scenario}",
                            np.inf,
                            ("it does not call a global named bptt, so it can't be checked",),
                        )
                    )
                    continue
                mine = _call(fn, model_copy, _copy(inputs), _copy(y), h0.copy())
                variant = _call(
                    _practical_relative_error_check, _copy(model), _copy(inputs), y, h0.copy()
                )
            problems, hints = [], []
            if isinstance(mine, Raised):
                problems.append(mine.describe())
                if mine.same_as(variant) or isinstance(
                    mine.error, FloatingPointError | ZeroDivisionError
                ):
                    hints.append(
                        "0/0: where both gradients are 0, |a - n| / (|a| + |n|) divides by zero; "
                        f"divide by max({RELATIVE_ERROR_FLOOR:g}, |a| + |n|) as relative_error does"
                    )
            else:
                verdict = _verdict(mine)
                if verdict is None:
                    problems.append(
                        f"returned {type(mine).__name__}; return whether the check passed "
                        "(True/False, or a result with .passed)"
                    )
                elif verdict != expected:
                    problems.append(
                        f"it {'passed' if verdict else 'failed'}, expected "
                        f"{'a pass' if expected else 'a failure'}"
                    )
                    hints.append(
                        "the central difference is (L(p + h) - L(p - h)) / (2 h), with L the "
                        "loss of the whole rnn_forward, compared with bptt's gradient at p"
                        if expected
                        else "a wrong gradient passes: compare every entry of every parameter "
                        "and fail when one relative error exceeds error_threshold"
                    )
            for name in MODEL_PARAMETER_NAMES:
                if not np.array_equal(model_copy[name], model[name]):
                    problems.append(f"model[{name!r}] was left changed")
                    hints.append("restore each entry to its original value after perturbing it")
                    break
            cases.append(
                CaseReport(
                    f"{label}, {scenario}", 0.0, tuple(problems), tuple(dict.fromkeys(hints))
                )
            )
    return CheckResult(
        "rnn_gradient_check",
        tuple(cases),
        note="passes, fails and copes with 0/0 as it should; "
        + ISOLATION_NOTE.format("bptt and rnn_forward"),
        compares=False,
    )


# --- GRU and LSTM steps, against torch.autograd -----------------------------------------------


def _gated_problem(kind: str, N: int, D: int, H: int, seed: int):
    rng = np.random.default_rng(seed)
    init = gru_init_params if kind == "gru" else lstm_init_params
    params = init(D, H, rng)
    # larger weights than torch's default, so that every gate is away from 1/2
    params = {name: 2.0 * value for name, value in params.items()}
    x = rng.standard_normal((N, D))
    h_prev = np.tanh(rng.standard_normal((N, H)))
    c_prev = rng.standard_normal((N, H))
    dh = rng.standard_normal((N, H))
    dc = rng.standard_normal((N, H))
    return params, x, h_prev, c_prev, dh, dc


def _torch_step(kind: str, params, x, h_prev, c_prev, dh=None, dc=None):
    """The step computed by ``torch.nn.GRUCell``/``LSTMCell`` (float64), and with ``dh`` (and
    ``dc``) the gradients of ``sum(dh * h) [+ sum(dc * c)]`` from ``torch.autograd``."""
    import torch

    H = h_prev.shape[1]
    cell_type = torch.nn.GRUCell if kind == "gru" else torch.nn.LSTMCell
    cell = cell_type(x.shape[1], H).double()
    with torch.no_grad():
        for name, value in params.items():
            getattr(cell, name).copy_(torch.from_numpy(value))
    xt = torch.tensor(x, requires_grad=True)
    ht = torch.tensor(h_prev, requires_grad=True)
    if kind == "gru":
        h = cell(xt, ht)
        outputs = (h,)
    else:
        ct = torch.tensor(c_prev, requires_grad=True)
        h, c = cell(xt, (ht, ct))
        outputs = (h, c)
    values = tuple(out.detach().numpy() for out in outputs)
    if dh is None:
        return values
    objective = (h * torch.from_numpy(dh)).sum()
    if kind == "lstm":
        objective = objective + (outputs[1] * torch.from_numpy(dc)).sum()
    objective.backward()
    dparams = {name: getattr(cell, name).grad.numpy() for name in params}
    if kind == "gru":
        return xt.grad.numpy(), ht.grad.numpy(), dparams
    return xt.grad.numpy(), ht.grad.numpy(), ct.grad.numpy(), dparams


def _gru_forward_variant(mistake: str):
    def forward(x, h_prev, params):
        H = h_prev.shape[1]
        W_ih, W_hh, b_ih, b_hh = (
            params[k] for k in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
        )
        gi = x @ W_ih.T + b_ih
        gh = h_prev @ W_hh.T + b_hh
        first, second = sigmoid(gi[:, :H] + gh[:, :H]), sigmoid(gi[:, H : 2 * H] + gh[:, H : 2 * H])
        r, z = (second, first) if mistake == "order" else (first, second)
        hn = gh[:, 2 * H :]
        if mistake == "reset_before":
            hn = (r * h_prev) @ W_hh[2 * H :].T + b_hh[2 * H :]
            n = np.tanh(gi[:, 2 * H :] + hn)
        else:
            n = np.tanh(gi[:, 2 * H :] + r * hn)
        h = z * n + (1 - z) * h_prev if mistake == "swap" else (1 - z) * n + z * h_prev
        return h, (x, h_prev, r, z, n, hn, params)

    return forward


_GRU_FORWARD_VARIANTS = tuple(
    (hint, _gru_forward_variant(mistake))
    for hint, mistake in (
        (
            "the reset gate multiplies h_{t-1} before the matrix product (Cho et al., the "
            "practical's equation); PyTorch's GRU applies it after: r * (h_{t-1} W_hn^T + b_hn)",
            "reset_before",
        ),
        ("the gates are in the wrong order: torch's is r, z, n", "order"),
        ("z and 1 - z are swapped: h = (1 - z) * n + z * h_prev", "swap"),
    )
)


def _gru_backward_variant(mistake: str):
    def backward(dh, cache):
        x, h_prev, r, z, n, hn, params = cache
        dn = dh * (1.0 - z)
        dz = dh * (h_prev - n)
        if mistake == "tanh_pre":
            dn_pre = dn * (1.0 - np.arctanh(np.clip(n, -1 + 1e-15, 1 - 1e-15)) ** 2)
        else:
            dn_pre = dn * (1.0 - n**2)
        dr_pre = dn_pre * hn * r * (1.0 - r)
        dz_pre = dz * z * (1.0 - z)
        dgi = np.concatenate([dr_pre, dz_pre, dn_pre], axis=1)
        dgh = np.concatenate([dr_pre, dz_pre, dn_pre * r], axis=1)
        dparams = {
            "weight_ih": dgi.T @ x,
            "weight_hh": dgh.T @ h_prev,
            "bias_ih": dgi if mistake == "bias" else dgi.sum(axis=0),
            "bias_hh": dgh if mistake == "bias" else dgh.sum(axis=0),
        }
        direct = 0.0 if mistake == "direct" else dh * z
        return dgi @ params["weight_ih"], direct + dgh @ params["weight_hh"], dparams

    return backward


_GRU_BACKWARD_VARIANTS = tuple(
    (hint, _gru_backward_variant(mistake))
    for hint, mistake in (
        (
            "dh_prev misses the direct path h_t = ... + z * h_{t-1}: add dh * z",
            "direct",
        ),
        (HINT_TANH_PRE, "tanh_pre"),
        (HINT_BIAS_SUM.split(", e.g.")[0] + ": sum over axis 0", "bias"),
    )
)


def _lstm_forward_variant(mistake: str):
    def forward(x, h_prev, c_prev, params):
        H = h_prev.shape[1]
        a = x @ params["weight_ih"].T + params["bias_ih"] + h_prev @ params["weight_hh"].T
        a = a + params["bias_hh"]
        i, f = sigmoid(a[:, :H]), sigmoid(a[:, H : 2 * H])
        if mistake == "order":  # reads the last two blocks as o, g
            o, g = sigmoid(a[:, 2 * H : 3 * H]), np.tanh(a[:, 3 * H :])
        else:
            g, o = np.tanh(a[:, 2 * H : 3 * H]), sigmoid(a[:, 3 * H :])
        c = f * c_prev + i * g
        tanh_c = c if mistake == "no_tanh" else np.tanh(c)
        return o * tanh_c, c, (x, h_prev, c_prev, i, f, g, o, np.tanh(c), params)

    return forward


_LSTM_FORWARD_VARIANTS = tuple(
    (hint, _lstm_forward_variant(mistake))
    for hint, mistake in (
        ("the gates are in the wrong order: torch's is i, f, g, o (not i, f, o, g)", "order"),
        ("h = o * tanh(c): the memory is squashed by tanh before the output gate", "no_tanh"),
    )
)


def _lstm_backward_variant(mistake: str):
    def backward(dh, dc, cache):
        x, h_prev, c_prev, i, f, g, o, tanh_c, params = cache
        if mistake == "tanh_pre":
            c = np.arctanh(np.clip(tanh_c, -1 + 1e-15, 1 - 1e-15))
            dc_total = dc + dh * o * (1.0 - c**2)
        elif mistake == "dc":
            dc_total = dh * o * (1.0 - tanh_c**2)
        else:
            dc_total = dc + dh * o * (1.0 - tanh_c**2)
        da = np.concatenate(
            [
                dc_total * g * i * (1.0 - i),
                dc_total * c_prev * f * (1.0 - f),
                dc_total * i * (1.0 - g**2),
                dh * tanh_c * o * (1.0 - o),
            ],
            axis=1,
        )
        db = da if mistake == "bias" else da.sum(axis=0)
        dparams = {
            "weight_ih": da.T @ x,
            "weight_hh": da.T @ h_prev,
            "bias_ih": db,
            "bias_hh": db.copy(),
        }
        return da @ params["weight_ih"], da @ params["weight_hh"], dc_total * f, dparams

    return backward


_LSTM_BACKWARD_VARIANTS = tuple(
    (hint, _lstm_backward_variant(mistake))
    for hint, mistake in (
        (
            "you forget to add dc (the memory's gradient arriving from step t+1) to the "
            "gradient through h",
            "dc",
        ),
        (
            HINT_TANH_PRE.replace("tanh(a)", "tanh(c)").replace("1 - out^2", "1 - tanh_c^2"),
            "tanh_pre",
        ),
        (HINT_BIAS_SUM.split(", e.g.")[0] + ": sum over axis 0", "bias"),
    )
)


def _gated_label(N: int, D: int, H: int) -> str:
    return f"N={N}, D={D}, H={H}"


def _torch_note(kind: str) -> str:
    cell = "GRUCell" if kind == "gru" else "LSTMCell"
    return f"reference: torch.nn.{cell} and torch.autograd (float64)"


def check_gru_step_forward(fn: Callable) -> CheckResult:
    """Check ``gru_step_forward(x, h_prev, params) -> (h, cache)`` against ``torch.nn.GRUCell``,
    and that its cache is the package's ``(x, h_prev, r, z, n, hn, params)``."""
    cases = []
    for seed, (N, D, H) in enumerate(GATED_SHAPES):
        params, x, h_prev, _, _, _ = _gated_problem("gru", N, D, H, seed)
        args = (x, h_prev, params)
        (h_torch,) = _torch_step("gru", params, x, h_prev, None)
        _, cache = gru_step_forward(*_copy(args))
        variants = _variant_outputs(_GRU_FORWARD_VARIANTS, *args)
        mine = _call(fn, *_copy(args))
        cases.append(
            _compare_case(_gated_label(N, D, H), ("h", "cache"), mine, (h_torch, cache), variants)
        )
    return CheckResult("gru_step_forward", tuple(cases), note=_torch_note("gru"))


def check_gru_step_backward(fn: Callable) -> CheckResult:
    """Check ``gru_step_backward(dh, cache) -> (dx, dh_prev, dparams)`` against torch.autograd,
    with ``cache`` from the package's :func:`~rnn_reference.gru.gru_step_forward`."""
    cases = []
    for seed, (N, D, H) in enumerate(GATED_SHAPES):
        params, x, h_prev, _, dh, _ = _gated_problem("gru", N, D, H, seed)
        reference = _torch_step("gru", params, x, h_prev, None, dh)
        _, cache = gru_step_forward(x, h_prev, params)
        variants = _variant_outputs(_GRU_BACKWARD_VARIANTS, dh, cache)
        mine = _call(fn, dh.copy(), _copy(cache))
        cases.append(
            _compare_case(
                _gated_label(N, D, H), ("dx", "dh_prev", "dparams"), mine, reference, variants
            )
        )
    return CheckResult("gru_step_backward", tuple(cases), note=_torch_note("gru"))


def check_lstm_step_forward(fn: Callable) -> CheckResult:
    """Check ``lstm_step_forward(x, h_prev, c_prev, params) -> (h, c, cache)`` against
    ``torch.nn.LSTMCell``, and that its cache is the package's
    ``(x, h_prev, c_prev, i, f, g, o, tanh_c, params)``."""
    cases = []
    for seed, (N, D, H) in enumerate(GATED_SHAPES):
        params, x, h_prev, c_prev, _, _ = _gated_problem("lstm", N, D, H, seed)
        args = (x, h_prev, c_prev, params)
        h_torch, c_torch = _torch_step("lstm", params, x, h_prev, c_prev)
        _, _, cache = lstm_step_forward(*_copy(args))
        variants = _variant_outputs(_LSTM_FORWARD_VARIANTS, *args)
        mine = _call(fn, *_copy(args))
        cases.append(
            _compare_case(
                _gated_label(N, D, H),
                ("h", "c", "cache"),
                mine,
                (h_torch, c_torch, cache),
                variants,
            )
        )
    return CheckResult("lstm_step_forward", tuple(cases), note=_torch_note("lstm"))


def check_lstm_step_backward(fn: Callable) -> CheckResult:
    """Check ``lstm_step_backward(dh, dc, cache) -> (dx, dh_prev, dc_prev, dparams)`` against
    torch.autograd, with ``cache`` from the package's :func:`~rnn_reference.lstm.lstm_step_forward`
    and ``dc`` a random, nonzero gradient arriving from the next step."""
    cases = []
    for seed, (N, D, H) in enumerate(GATED_SHAPES):
        params, x, h_prev, c_prev, dh, dc = _gated_problem("lstm", N, D, H, seed)
        reference = _torch_step("lstm", params, x, h_prev, c_prev, dh, dc)
        _, _, cache = lstm_step_forward(x, h_prev, c_prev, params)
        variants = _variant_outputs(_LSTM_BACKWARD_VARIANTS, dh, dc, cache)
        mine = _call(fn, dh.copy(), dc.copy(), _copy(cache))
        cases.append(
            _compare_case(
                _gated_label(N, D, H),
                ("dx", "dh_prev", "dc_prev", "dparams"),
                mine,
                reference,
                variants,
            )
        )
    return CheckResult("lstm_step_backward", tuple(cases), note=_torch_note("lstm"))


# The reference implementations these checkers compare with (handy to show they pass).
REFERENCES = {
    "cell_fn_forward": (check_cell_fn_forward, cell_fn_forward),
    "rnn_forward": (check_rnn_forward, rnn_forward),
    "cell_fn_backward": (check_cell_fn_backward, cell_fn_backward),
    "bptt": (check_bptt, bptt),
    "rnn_gradient_check": (check_rnn_gradient_check, rnn_gradient_check),
    "gru_step_forward": (check_gru_step_forward, gru_step_forward),
    "gru_step_backward": (check_gru_step_backward, gru_step_backward),
    "lstm_step_forward": (check_lstm_step_forward, lstm_step_forward),
    "lstm_step_backward": (check_lstm_step_backward, lstm_step_backward),
}
