"""The check of notebook 1's last exercise, ``rnn_gradient_check``: it must pass correct
gradients and fail wrong ones, and the way it evaluates the loss tells which step is wrong.

Shape legend: N batch, T steps, D input, H hidden, C classes.

Besides two real problems (the package's ``bptt`` and ``rnn_forward``), it runs the learner's
function on a known loss, ``L(p) = 3 + sum G (p - p0) + K/2 (p - p0)**2``, standing in for
``rnn_forward`` (its gradient at p0 is G), with a stand-in ``bptt`` that returns G, or G made
wrong in one way. Each evaluation of the loss records which entries were moved, and by how
much: one entry at a time by +-h is a central difference; anything else is named.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable

import numpy as np

from rnn_reference.checking.progress import record
from rnn_reference.checking.report import CaseReport, CheckResult
from rnn_reference.checking.running import Raised, call_printing, copy, package_versions
from rnn_reference.checking.vanilla import label, sequence_problem
from rnn_reference.gradient_check import RELATIVE_ERROR_FLOOR
from rnn_reference.practical import MODEL_PARAMETER_NAMES, bptt, rnn_forward

NAME = "rnn_gradient_check"
DEFAULT_STEP = 1e-3  # the practical's h, when the learner's function has no default
CURVATURE = 50.0  # large enough that a one-sided difference is off by more than 1%
SHIFT = 0.1  # a wrong gradient's error, of one sign on every entry
TINY = 1e-6  # the scale of the tiny gradients
STAND_IN_SHAPE = (1, 3, 4, 2)  # (N, D, H, C) of the known loss's model
STAND_IN_STEPS = 5

WHOLE = (
    "a whole parameter is moved at once ({count} entries in one evaluation of the loss): "
    "move one entry at a time, parameter[ix] = original_value + h"
)
STEP = "entries are moved by {delta:g}; move them by h = {h:g} (then by -h)"
ONE_SIDED = (
    "the difference is one-sided, (L(p + h) - L(p)) / h: use the central difference, "
    "(L(p + h) - L(p - h)) / (2h)"
)
LOSS_FROM_BPTT = (
    "the loss comes from bptt, which divides it by T: use rnn_forward's summed loss, "
    "rnn_forward(...)[3]"
)
NO_LOSS = "it never calls rnn_forward: the estimate needs the loss at p + h and at p - h"
ZERO = (
    "0/0: where both gradients are 0, |a - n| / (|a| + |n|) divides by zero; divide by "
    f"max({RELATIVE_ERROR_FLOOR:g}, |a| + |n|) as relative_error does"
)
HALF_STEP = "the estimate is twice the gradient: divide L(p + h) - L(p - h) by 2h, not by h"
FLIPPED = "the estimate has the wrong sign: it is L(p + h) - L(p - h), over 2h"
SIGNED = (
    "the error has a sign, so gradients that are too {side} pass: take its absolute value, "
    "np.abs(a - n)"
)
ABSOLUTE = (
    "an absolute error |a - n| lets tiny wrong gradients pass: divide it by "
    f"max({RELATIVE_ERROR_FLOOR:g}, |a| + |n|), a relative error"
)
NEVER_FAILS = (
    "wrong gradients pass: return False as soon as an entry's relative error exceeds "
    "error_threshold"
)
RESTORE = (
    "the model is left changed: restore each entry after moving it, parameter[ix] = original_value"
)


class StandIn:
    """The known loss and a ``bptt`` that returns its gradient, made wrong by ``wrong``; both
    record how the model was moved each time the learner's function called them."""

    def __init__(self, seed: int, scale: float = 1.0, wrong: Callable | None = None):
        N, D, H, C = STAND_IN_SHAPE
        model, X, y, h0 = sequence_problem(N, D, H, C, seed, T=STAND_IN_STEPS)
        rng = np.random.default_rng(seed + 300)
        self.model, self.X, self.y, self.h0 = model, X, y, h0
        self.start = copy(model)
        self.G, self.K = {}, {}
        for name, value in model.items():
            signs = rng.choice([-1.0, 1.0], size=value.shape)
            live = rng.random(value.shape) > 0.2  # the others do not change the loss at all
            self.G[name] = scale * live * signs * rng.uniform(0.5, 2.0, size=value.shape)
            self.K[name] = scale * live * CURVATURE
        self.analytic = (wrong or (lambda g: g))(copy(self.G))
        self.moves, self.bptt_moved = [], 0

    def moved(self, model) -> list:
        """``(name, index, delta)`` of every entry of ``model`` away from the start."""
        found = []
        for name in MODEL_PARAMETER_NAMES:
            delta = np.asarray(model[name], dtype=float) - self.start[name]
            found += [(name, ix, float(delta[ix])) for ix in zip(*np.nonzero(delta), strict=True)]
        return found

    def loss(self, model) -> float:
        total = 3.0
        for name in MODEL_PARAMETER_NAMES:
            d = np.asarray(model[name], dtype=float) - self.start[name]
            total += float(np.sum(self.G[name] * d + 0.5 * self.K[name] * d * d))
        return total

    def rnn_forward(self, X_train, y_train, model, initial_state, *args, **kwargs):
        self.moves.append(self.moved(model))
        return np.zeros_like(initial_state), [], [], self.loss(model)

    def bptt(self, model, X_train, y_train, initial_state, *args, **kwargs):
        self.bptt_moved += bool(self.moved(model))
        grads = copy(self.analytic)
        return grads, self.loss(model) / len(X_train), np.zeros_like(initial_state)


def _verdict(value):
    """A gradient check's return value as a bool, or None when it says nothing."""
    if isinstance(value, bool | np.bool_):
        return bool(value)
    passed = getattr(value, "passed", None)
    return bool(passed) if isinstance(passed, bool | np.bool_) else None


def _step(fn: Callable) -> float:
    try:
        default = inspect.signature(fn).parameters["h"].default
    except (KeyError, TypeError, ValueError):
        return DEFAULT_STEP
    return float(default) if isinstance(default, float | int) else DEFAULT_STEP


def _run(fn: Callable, globals_: dict, args: tuple, expected: bool, scenario: str):
    """Run ``fn`` with these globals; ``(CaseReport, outcome, printed)``."""
    model = args[0]
    start = copy(model)
    with package_versions(fn, globals_), np.errstate(invalid="raise", divide="raise"):
        outcome, printed = call_printing(fn, *args)
    problems = []
    if isinstance(outcome, Raised):
        problems.append(outcome.describe())
    else:
        verdict = _verdict(outcome)
        if verdict is None:
            problems.append(
                f"returned {type(outcome).__name__}; return whether the check passed "
                "(True/False, or a result with .passed)"
            )
        elif verdict != expected:
            problems.append(
                f"it {'passed' if verdict else 'failed'}, expected "
                f"{'a pass' if expected else 'a failure'}"
            )
    for name in MODEL_PARAMETER_NAMES:
        if not np.array_equal(model[name], start[name]):
            problems.append(f"model[{name!r}] was left changed")
            break
    kind = tuple(problem.split(":")[0] for problem in problems)
    return CaseReport(scenario, 0.0, tuple(problems), kind), outcome, printed


def _printed_ratio(printed: str, stand_in: StandIn):
    """The learner's printed estimate over the true gradient at the entry it printed, if any."""
    where = re.search(r"parameter=(\w+) ix=(\([\d, ]*\))", printed)
    estimate = re.search(r"Estimated gradient:\s*(-?[\d.]+(?:e-?\d+)?)", printed)
    if not (where and estimate) or where.group(1) not in stand_in.G:
        return None
    try:
        index = tuple(int(i) for i in where.group(2).strip("()").split(",") if i.strip())
        true = stand_in.G[where.group(1)][index]
    except (ValueError, IndexError):
        return None
    return float(estimate.group(1)) / true if true else None


def _moves_causes(stand_ins: list, h: float) -> list:
    """What the loss evaluations show: a loss from bptt, entries moved together or left moved,
    a step other than h, a one-sided difference."""
    if any(stand_in.bptt_moved for stand_in in stand_ins):
        return [LOSS_FROM_BPTT]
    moves = [move for stand_in in stand_ins for move in stand_in.moves]
    if not moves:
        return [NO_LOSS]
    sizes = {name: value.size for name, value in stand_ins[0].start.items()}
    for move in moves:
        if len(move) > 1:
            names, deltas = {name for name, _, _ in move}, {delta for _, _, delta in move}
            whole = any(sum(name == one for name, _, _ in move) == sizes[one] for one in names)
            if whole and len(deltas) == 1:
                return [WHOLE.format(count=len(move))]
            return [RESTORE]
    deltas = [move[0][2] for move in moves if move]
    odd = [d for d in deltas if not np.isclose(abs(d), h, rtol=1e-6)]
    if odd:
        return [STEP.format(delta=odd[0], h=h)]
    if deltas and min(deltas) > 0:
        return [ONE_SIDED]
    return []


def check_rnn_gradient_check(fn: Callable) -> CheckResult:
    """Check ``rnn_gradient_check(model, x, y, init_state, h=0.001, error_threshold=0.01)``.

    ``fn`` must return whether the check passed (a bool, or an object with ``.passed``), call
    the global ``bptt`` for the analytic gradients and ``rnn_forward`` for the loss, and leave
    the model as it was. It must pass the package's ``bptt`` on two real problems (one with an
    input that is always 0, so that some gradients are exactly 0 both ways: no 0/0), pass correct
    gradients of a known loss with curvature, and fail three wrong ones: too large on every
    entry, too small on every entry (a signed error passes one of them), and tiny gradients
    1.5 times too large (an absolute error passes them). numpy's invalid-value warnings raise.
    """
    missing = [
        name for name in ("bptt", "rnn_forward") if name not in getattr(fn, "__globals__", {})
    ]
    if missing:
        outcome, _ = call_printing(fn, *sequence_problem(1, 8, 4, 2, seed=0))
        if isinstance(outcome, Raised) and outcome.stub:
            return _finish([CaseReport("every scenario", float("inf"), (outcome.describe(),))], [])
        problem = f"it does not call a global named {' or '.join(missing)}, so it can't be checked"
        cause = f"call the global {' and '.join(missing)}, as the exercise's code does"
        return _finish([CaseReport("every scenario", float("inf"), (problem,))], [cause])
    h = _step(fn)
    cases, outcomes = [], {}
    real = {"bptt": bptt, "rnn_forward": rnn_forward}
    for name, shape, zero_input in (
        ("correct", (1, 8, 4, 2), False),
        ("zeros", (3, 5, 4, 3), True),
    ):
        model, X, y, h0 = sequence_problem(*shape, seed=len(cases))
        if zero_input:
            X = [np.concatenate([x[:, :-1], np.zeros((len(x), 1))], axis=1) for x in X]
        scenario = label(*shape, T=len(X)) + (
            ", an input always 0 (gradients exactly 0)" if zero_input else ", the package's bptt"
        )
        case, outcomes[name], _ = _run(fn, real, (model, X, y, h0), True, scenario)
        cases.append(case)

    def shifted(sign):
        return lambda g: dict(g, Whh=g["Whh"] + sign * SHIFT)

    stand_ins, printed = {}, ""
    for name, scenario, expected, scale, wrong in (
        ("right", "correct gradients of a loss with curvature", True, 1.0, None),
        ("large", f"Whh's gradient {SHIFT:g} too large on every entry", False, 1.0, shifted(1)),
        ("small", f"Whh's gradient {SHIFT:g} too small on every entry", False, 1.0, shifted(-1)),
        (
            "tiny",
            f"tiny gradients (~{TINY:g}), Whh's 1.5x too large",
            False,
            TINY,
            lambda g: dict(g, Whh=1.5 * g["Whh"]),
        ),
    ):
        stand_in = StandIn(seed=10 + len(stand_ins), scale=scale, wrong=wrong)
        args = (stand_in.model, stand_in.X, stand_in.y, stand_in.h0)
        names = {"bptt": stand_in.bptt, "rnn_forward": stand_in.rnn_forward}
        case, outcomes[name], text = _run(fn, names, args, expected, "a known loss: " + scenario)
        printed = text if name == "right" else printed
        cases.append(case)
        stand_ins[name] = stand_in
    return _finish(cases, _causes(cases, outcomes, stand_ins, printed, h))


def _causes(cases, outcomes, stand_ins, printed, h) -> list:
    if all(isinstance(outcome, Raised) and outcome.stub for outcome in outcomes.values()):
        return []
    verdicts = {name: _verdict(outcome) for name, outcome in outcomes.items()}
    ran = any(not isinstance(outcomes[name], Raised) for name in stand_ins)
    causes = _moves_causes(list(stand_ins.values()), h) if ran else []
    zero_division = (FloatingPointError, ZeroDivisionError)
    if isinstance(outcomes["zeros"], Raised) and isinstance(outcomes["zeros"].error, zero_division):
        causes.append(ZERO)
    right_fails = any(verdicts[name] is False for name in ("correct", "zeros", "right"))
    if right_fails and not causes:
        ratio = _printed_ratio(printed, stand_ins["right"])
        if ratio is not None and np.isclose(ratio, 2.0, rtol=1e-3):
            causes.append(HALF_STEP)
        elif ratio is not None and np.isclose(ratio, -1.0, rtol=1e-3):
            causes.append(FLIPPED)
    large, small, tiny = (verdicts[name] for name in ("large", "small", "tiny"))
    if large and small and tiny:
        causes.append(NEVER_FAILS)
    elif large is False and small:
        causes.append(SIGNED.format(side="small"))
    elif small is False and large:
        causes.append(SIGNED.format(side="large"))
    elif large is False and small is False and tiny:
        causes.append(ABSOLUTE)
    left_changed = any("was left changed" in problem for c in cases for problem in c.problems)
    if left_changed and not any(cause.startswith("a whole parameter") for cause in causes):
        causes.append(RESTORE)  # also where the known loss did not show it
    return causes


def _finish(cases: list, causes: list) -> CheckResult:
    result = CheckResult(
        NAME,
        tuple(cases),
        tuple(dict.fromkeys(causes)),
        note="passes and fails as it should; run with the package's bptt and rnn_forward "
        "(and with stand-ins for them on a known loss)",
        compares=False,
    )
    record(NAME, result.passed)
    return result
