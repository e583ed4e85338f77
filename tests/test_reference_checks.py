"""The learner-facing checkers: they pass the references, report what a learner reads (verdict and
cause first, named outputs, what an error's size means, the learner's own line), catch the
mistakes that used to pass, run the learner's function alone, and never load torch."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from rnn_reference import checks, gru, lstm, practical
from rnn_reference.checking import gated, vanilla
from rnn_reference.checking.compare import difference
from rnn_reference.checking.gradient_check_exercise import SHIFT, TINY, StandIn
from rnn_reference.checking.running import flatten
from rnn_reference.checking.slips import Slip, discover

EXERCISES = [
    (vanilla.CELL_FORWARD, checks.check_cell_fn_forward),
    (vanilla.RNN_FORWARD, checks.check_rnn_forward),
    (vanilla.CELL_BACKWARD, checks.check_cell_fn_backward),
    (vanilla.BPTT, checks.check_bptt),
    (gated.GRU_FORWARD, checks.check_gru_step_forward),
    (gated.GRU_BACKWARD, checks.check_gru_step_backward),
    (gated.LSTM_FORWARD, checks.check_lstm_step_forward),
    (gated.LSTM_BACKWARD, checks.check_lstm_step_backward),
]


# The gradient check's checker swaps the globals bptt and rnn_forward of the function it checks:
# the stand-ins below live in this module, as a learner's functions live in the notebook's.
bptt = practical.bptt
rnn_forward = practical.rnn_forward


def raising(*args, **kwargs):
    raise NotImplementedError("IMPLEMENT-ME: write it")


def returns_none(*args, **kwargs):
    return None


def cases_of(exercise, check):
    """The cases a check runs, captured from the exercise runner."""
    captured = []

    def spy(*args, **kwargs):
        captured.append((args, kwargs))
        return exercise.reference(*args, **kwargs)

    check(spy)
    return captured


# --- every checker -----------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "pair"), sorted(checks.REFERENCES.items()))
def test_every_checker_passes_the_reference(name, pair):
    check, reference = pair
    result = check(reference)
    assert result.passed, str(result)
    assert str(result).startswith(f"{name}: PASSED on ")
    assert len(result.cases) >= 2 and not result.causes
    assert repr(result) == str(result)


@pytest.mark.parametrize(("name", "pair"), sorted(checks.REFERENCES.items()))
def test_every_checker_reports_an_unwritten_exercise(name, pair):
    check, _ = pair
    text = str(check(raising))
    assert text.startswith(f"{name}: FAILED")
    assert "raised NotImplementedError: IMPLEMENT-ME: write it" in text
    assert "HINT" not in text


@pytest.mark.parametrize(("name", "pair"), sorted(checks.REFERENCES.items()))
def test_every_checker_reports_a_wrong_return_type(name, pair):
    check, _ = pair
    result = check(returns_none)
    assert not result.passed
    assert "NoneType" in str(result)


@pytest.mark.parametrize(("exercise", "check"), EXERCISES, ids=lambda e: getattr(e, "name", ""))
def test_each_slippable_reference_without_a_slip_is_the_package_function(exercise, check):
    for args, kwargs in cases_of(exercise, check):
        mine = exercise.slippable(*args, **kwargs)
        reference = exercise.reference(*args, **kwargs)
        got, want = flatten("out", mine), flatten("out", reference)
        assert set(got) == set(want)
        for key, value in want.items():
            if isinstance(value, np.ndarray):
                np.testing.assert_allclose(got[key], value, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize(("exercise", "check"), EXERCISES, ids=lambda e: getattr(e, "name", ""))
def test_every_one_term_change_changes_some_output(exercise, check):
    """A slip that changed nothing on the check's cases could be named for nothing."""
    calls = cases_of(exercise, check)
    family = discover(exercise.slippable, calls)
    assert len(family) >= 10
    for term, alternative, cause in family:
        changed = False
        for args, kwargs in calls:
            try:
                wrong = exercise.slippable(*args, slip=Slip({term: alternative}), **kwargs)
            except Exception:
                changed = True
                break
            reference = exercise.reference(*args, **kwargs)
            got, want = flatten("o", wrong), flatten("o", reference)
            numbers = [k for k, v in want.items() if isinstance(v, np.ndarray | float)]
            if set(got) != set(want) or any(difference(got[k], want[k])[0] for k in numbers):
                changed = True
                break
        assert changed, f"{exercise.name}: {term}/{alternative} ({cause}) changes nothing"


def test_checks_never_load_torch():
    code = (
        "import sys\n"
        "from rnn_reference import checks\n"
        "for check, reference in checks.REFERENCES.values():\n"
        "    assert check(reference).passed\n"
        "assert 'torch' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


# --- the report --------------------------------------------------------------------------------


def h_cache_is_the_pre_activation(X, h, model, train=True):
    hprev = h.copy()
    a = hprev @ model["Whh"] + X @ model["Wxh"] + model["bh"]
    h = np.tanh(a)
    y = h @ model["Why"] + model["by"]
    cache = (X, model["Whh"], h, hprev, y, a, (model["Why"], h))
    return (y if train else practical.softmax(y)), h, cache


def test_the_report_gives_the_verdict_and_the_cause_first_and_names_each_slot():
    lines = str(checks.check_cell_fn_forward(h_cache_is_the_pre_activation)).splitlines()
    assert lines[0] == "cell_fn_forward: FAILED on 6 of 6 cases"
    assert lines[1].startswith("  HINT: h_cache holds the pre-activation")
    assert lines[2] == "  First failing case, N=1, D=8, H=4, C=2, train=True:"
    assert lines[3].startswith("    - cache[5] (h_cache, the tanh's output) is off by")
    # the other five cases in one line
    assert lines[4].startswith("  Also failing, the same way: N=1, D=8, H=4, C=2, train=False; ")
    assert len(lines) == 5


def test_the_report_lists_passing_cases_and_differently_failing_ones():
    def bias_not_summed(y_pred, y_train, dh_next, cache):
        grad, dh_prev = practical.cell_fn_backward(y_pred, y_train, dh_next, cache)
        X, Whh, h, hprev, y, h_cache, (Why, _) = cache
        dh = (practical.dcross_entropy(y_pred, y_train) @ Why.T + dh_next) * (1 - h_cache**2)
        return dict(grad, bh=dh), dh_prev

    text = str(checks.check_cell_fn_backward(bias_not_summed))
    assert "FAILED on 2 of 3 cases" in text
    assert (
        "grad['bh'] (this step's gradient of bh, (1, H)) has shape (3, 4), expected (1, 4)" in text
    )
    assert "Passing: N=1, D=8, H=4, C=2" in text
    assert "HINT: dbh is not summed over the batch" in text


@pytest.mark.parametrize(
    ("mine", "meaning"),
    [
        (lambda r: -r, "the sign is flipped (exactly -1x the expected)"),
        (lambda r: r / 5, "exactly 1/5x the expected: a factor too many or too few"),
        (lambda r: 3 * r, "exactly 3x the expected"),
        (lambda r: r.T, "it is the transpose of the expected"),
        (lambda r: np.zeros_like(r), "all zeros"),
        (lambda r: r + np.where(np.eye(3) > 0, 1e-2, 0), "close, but not equal"),
        (lambda r: np.cos(r), "completely different"),
    ],
)
def test_a_wrong_value_says_what_its_error_means(mine, meaning):
    reference = np.arange(1.0, 10.0).reshape(3, 3) + np.array([0.1, 0.7, 0.3])
    message, _ = difference(mine(reference), reference)
    assert meaning in message


def test_a_wrong_shape_says_when_it_is_the_transpose():
    reference = np.arange(6.0).reshape(2, 3)
    message, _ = difference(reference.T, reference)
    assert message == "has shape (3, 2), expected (2, 3): it is the transpose of the expected"


def test_an_error_is_reported_at_the_learners_line_with_the_shapes_on_it():
    def cell_fn_forward(X, h, model, train=True):
        Wxh, Whh = model["Wxh"], model["Whh"]
        h_new = np.tanh(h @ Whh + X @ Wxh.T)  # the learner's line
        return h_new, h_new, ()

    text = str(checks.check_cell_fn_forward(cell_fn_forward))
    assert "raised ValueError: matmul" in text
    assert (
        "at your line" in text
        and "h_new = np.tanh(h @ Whh + X @ Wxh.T)  # the learner's line" in text
    )
    assert "there: h_new" not in text  # not assigned yet
    assert "X (1, 8), Wxh (8, 4)" in text
    assert "numpy" not in text.split("at your line")[1]


# --- mistakes that used to pass ----------------------------------------------------------------


def test_an_in_place_state_update_is_caught_and_named():
    def in_place(X, h, model, train=True):
        hprev = h.copy()
        h[:] = np.tanh(hprev @ model["Whh"] + X @ model["Wxh"] + model["bh"])
        y = h @ model["Why"] + model["by"]
        cache = (X, model["Whh"], h, hprev, y, h, (model["Why"], h))
        return (y if train else practical.softmax(y)), h, cache

    result = checks.check_cell_fn_forward(in_place)
    assert not result.passed
    assert "it changed its input h in place" in str(result)
    assert result.causes[0].startswith("your function changes its input h in place")


def test_clipped_gradients_fail_on_the_case_whose_gradients_exceed_5():
    model, X, y, h0 = vanilla.sequence_problem(1, 3, 5, 4, seed=7)
    model["Why"] = vanilla.LARGE_READOUT * model["Why"]
    grads = practical.bptt(model, X, y, h0)[0]
    assert max(np.max(np.abs(g)) for g in grads.values()) > 5.0

    def clipped(model, X_train, y_train, initial_state):
        return practical.bptt(model, X_train, y_train, initial_state, clip="elementwise")

    result = checks.check_bptt(clipped)
    assert not result.passed and result.cases[-1].label.endswith("gradients above 5")
    assert result.causes == (
        "the gradients are clipped; bptt returns exact gradients (clipping comes later)",
    )


def test_the_known_loss_has_one_signed_and_tiny_wrong_gradients():
    right, large, small = StandIn(10), StandIn(11), StandIn(12)
    assert np.array_equal(right.analytic["Whh"], right.G["Whh"])
    tiny = StandIn(13, scale=TINY)
    live = tiny.G["Whh"] != 0
    assert np.max(np.abs(tiny.G["Whh"])) <= 2 * TINY and live.any()
    for stand_in, sign in ((large, 1), (small, -1)):
        shifted = {name: g for name, g in stand_in.G.items()}
        shifted["Whh"] = stand_in.G["Whh"] + sign * SHIFT
        error = shifted["Whh"] - stand_in.G["Whh"]
        assert np.all(np.sign(error) == sign)
    # the loss's gradient at the start is G, and some entries do not move the loss at all
    model = right.start
    for name in ("Wxh", "Whh"):
        assert np.any(right.G[name] == 0)
        moved = {k: v.copy() for k, v in model.items()}
        moved[name][0, 0] += 1e-6
        numeric = (right.loss(moved) - right.loss(model)) / 1e-6
        assert numeric == pytest.approx(right.G[name][0, 0], abs=1e-3)


def test_the_gradient_check_checker_leaves_the_callers_bptt_in_place():
    checks.check_rnn_gradient_check(practical.rnn_gradient_check)
    assert vars(practical)["bptt"] is practical.bptt
    assert vars(practical)["rnn_forward"] is practical.rnn_forward


def test_a_gradient_check_without_a_global_bptt_cannot_be_checked():
    namespace = {"np": np}
    exec("def rnn_gradient_check(model, x, y, init_state):\n    return True\n", namespace)
    text = str(checks.check_rnn_gradient_check(namespace["rnn_gradient_check"]))
    assert "it does not call a global named bptt or rnn_forward" in text


# --- a check runs the learner's function alone -------------------------------------------------


def test_a_check_runs_the_learners_function_with_the_package_versions_of_earlier_ones():
    """rnn_forward written right passes even while the learner's cell_fn_forward is a stub."""
    namespace = {"np": np, "cross_entropy": practical.cross_entropy}

    def stub(*args, **kwargs):
        raise NotImplementedError("IMPLEMENT-ME: cell_fn_forward")

    namespace["cell_fn_forward"] = stub
    exec(
        "def rnn_forward(X_train, y_train, model, initial_state, verbose=True):\n"
        "    h, ys, caches, loss = initial_state, [], [], 0.0\n"
        "    for x, y in zip(X_train, y_train):\n"
        "        y_pred, h, cache = cell_fn_forward(x, h, model)\n"
        "        loss += cross_entropy(y_pred, y)\n"
        "        ys.append(y_pred)\n"
        "        caches.append(cache)\n"
        "    return h, ys, caches, loss\n",
        namespace,
    )
    result = checks.check_rnn_forward(namespace["rnn_forward"])
    assert result.passed, str(result)
    assert "run with the package's cell_fn_forward" in str(result)
    assert namespace["cell_fn_forward"] is stub


def test_the_gated_checks_agree_with_an_independently_written_lstm_backward():
    def mine(dh, dc, cache):
        x, h_prev, c_prev, i, f, g, o, tanh_c, params = cache
        dc_t = dc + dh * o * (1 - tanh_c**2)
        da = np.hstack(
            [dc_t * g * i * (1 - i), dc_t * c_prev * f * (1 - f), dc_t * i * (1 - g**2)]
            + [dh * tanh_c * o * (1 - o)]
        )
        grads = dict(weight_ih=da.T @ x, weight_hh=da.T @ h_prev, bias_ih=da.sum(0))
        grads["bias_hh"] = da.sum(0)
        return da @ params["weight_ih"], da @ params["weight_hh"], dc_t * f, grads

    assert checks.check_lstm_step_backward(mine).passed
    assert checks.check_gru_step_backward(gru.gru_step_backward).passed
    assert checks.check_lstm_step_forward(lstm.lstm_step_forward).passed


@pytest.mark.parametrize(
    ("extra", "line"), [(1, "and 1 more wrong output"), (3, "and 3 more wrong outputs")]
)
def test_the_report_counts_the_wrong_outputs_it_does_not_list(extra, line):
    from rnn_reference.checking.report import MAX_PROBLEMS, CaseReport, CheckResult

    problems = tuple(f"output {k} is wrong" for k in range(MAX_PROBLEMS + extra))
    report = str(CheckResult("f", (CaseReport("N=1", 1.0, problems, ("wrong",)),)))
    assert f"    - {line}\n" in report + "\n"
    assert (
        f"output {MAX_PROBLEMS - 1} is wrong" in report
        and f"output {MAX_PROBLEMS} is" not in report
    )
