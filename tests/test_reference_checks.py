"""The learner-facing checkers pass the reference, fail broken versions with the right hint,
and report a raising implementation instead of raising."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from rnn_reference import checks, gru, lstm, practical
from rnn_reference.layers import dcross_entropy, fc_backward, fc_forward, tanh_backward

# --- broken versions of the practical's functions ----------------------------------------------


def cell_forward_transposed(X, h, model, train=True):
    hprev = h.copy()
    h = np.tanh(hprev @ model["Whh"].T + X @ model["Wxh"] + model["bh"])
    y, y_cache = fc_forward(h, model["Why"], model["by"])
    return y, h, (X, model["Whh"], h, hprev, y, h, y_cache)


def cell_forward_old_cache(X, h, model, train=True):
    """Right values, but the cache is not the practical's 7-tuple."""
    y, h, cache = practical.cell_fn_forward(X, h, model, train)
    return y, h, cache[5:]


def backward_with(mistake):
    """The practical's cell_fn_backward (summed bias) with one mistake, as a learner writes it."""

    def cell_fn_backward(y_pred, y_train, dh_next, cache):
        X, Whh, h, hprev, y, h_cache, y_cache = cache
        dy = dcross_entropy(y_pred, y_train)
        dh, dWhy, dby = fc_backward(dy, y_cache)
        if mistake != "no_dh_next":
            dh += dh_next
        dby = dby.reshape((1, -1))
        if mistake == "pre_activation":
            a = np.arctanh(h_cache)  # the pre-activation
            dh = (1 - a**2) * dh
        else:
            dh = tanh_backward(dh, h_cache)
        dbh = dh if mistake == "bias" else dh.sum(axis=0, keepdims=True)
        dWhh = np.dot((h if mistake == "h_not_hprev" else hprev).T, dh)
        dWxh = np.dot(X.T, dh)
        dh_next = np.dot(dh, Whh if mistake == "transposed" else Whh.T)
        return dict(Wxh=dWxh, Whh=dWhh, Why=dWhy, bh=dbh, by=dby), dh_next

    return cell_fn_backward


def raising(*args, **kwargs):
    raise NotImplementedError("write cell_fn_backward")


def returns_none(*args, **kwargs):
    return None


# --- vanilla RNN checkers ----------------------------------------------------------------------


@pytest.mark.parametrize(("name", "pair"), sorted(checks.REFERENCES.items()))
def test_every_checker_passes_the_reference(name, pair):
    check, reference = pair
    result = check(reference)
    assert result.passed, str(result)
    assert str(result).startswith(f"{name}: PASSED on ")
    assert len(result.cases) >= 2
    assert repr(result) == str(result)


@pytest.mark.parametrize(("name", "pair"), sorted(checks.REFERENCES.items()))
def test_every_checker_reports_a_raising_implementation(name, pair):
    check, _ = pair
    result = check(raising)
    assert not result.passed
    assert "raised NotImplementedError: write cell_fn_backward" in str(result)
    assert str(result).startswith(f"{name}: FAILED")


@pytest.mark.parametrize(("name", "pair"), sorted(checks.REFERENCES.items()))
def test_every_checker_reports_a_wrong_return_type(name, pair):
    check, _ = pair
    result = check(returns_none)
    assert not result.passed
    assert "NoneType" in str(result)


def test_the_package_cell_forward_builds_the_practicals_cache():
    model, X, h, _ = checks._cell_problem(2, 3, 4, 5, seed=0)
    y, h_new, cache = practical.cell_fn_forward(X, h, model)
    assert len(cache) == 7
    X_c, Whh, h_c, hprev, y_c, h_cache, y_cache = cache
    np.testing.assert_array_equal(X_c, X)
    np.testing.assert_array_equal(Whh, model["Whh"])
    np.testing.assert_array_equal(h_c, h_new)
    np.testing.assert_array_equal(hprev, h)
    np.testing.assert_array_equal(y_c, y)
    np.testing.assert_array_equal(
        h_cache, np.tanh(h @ model["Whh"] + X @ model["Wxh"] + model["bh"])
    )
    assert y_cache[0] is model["Why"] and y_cache[1] is h_cache


def test_cell_forward_check_names_a_transposed_weight_and_the_shape():
    result = checks.check_cell_fn_forward(cell_forward_transposed)
    assert not result.passed
    text = str(result)
    assert "N=1, D=8, H=4, C=2, train=True:" in text
    assert "- y is off by relative error" in text and "- h is off by relative error" in text
    assert "HINT: a weight is used transposed" in text


def test_cell_forward_check_wants_the_practicals_cache():
    text = str(checks.check_cell_fn_forward(cell_forward_old_cache))
    assert "cache has parts" in text


def test_cell_forward_check_catches_softmax_in_training_mode():
    def softmax_always(X, h, model, train=True):
        y, h, cache = practical.cell_fn_forward(X, h, model, train=False)
        return y, h, cache

    result = checks.check_cell_fn_forward(softmax_always)
    assert not result.passed
    assert "train=False: ok" in str(result)
    assert "apply the softmax only when train=False" in str(result)


@pytest.mark.parametrize(
    ("mistake", "hint", "wrong"),
    [
        ("no_dh_next", checks.HINT_DH_NEXT, "dh_next is off"),
        ("pre_activation", checks.HINT_TANH_PRE, "grad['Wxh'] is off"),
        ("bias", checks.HINT_BIAS_SUM, "grad['bh'] has shape (3, 4), expected (1, 4)"),
        ("h_not_hprev", checks.HINT_HPREV, "grad['Whh'] is off"),
        ("transposed", checks.HINT_TRANSPOSED, "dh_next is off"),
    ],
)
def test_cell_backward_check_diagnoses_each_classic_mistake(mistake, hint, wrong):
    result = checks.check_cell_fn_backward(backward_with(mistake))
    assert not result.passed
    text = str(result)
    assert wrong in text
    assert f"HINT: {hint}" in text
    # one mistake, one hint
    assert text.count("HINT:") == 1, text


def test_cell_backward_check_passes_the_practicals_own_code_only_for_n_1():
    result = checks.check_cell_fn_backward(backward_with("bias"))
    assert result.cases[0].passed  # N = 1: dbh = dh happens to be right
    assert not result.cases[1].passed


def test_a_practical_style_backward_runs_on_the_package_forward_and_vice_versa():
    """The learner's backward (the practical's hints) and the package's forward fit together."""
    assert checks.check_cell_fn_backward(backward_with("none")).passed
    assert checks.check_bptt(practical.bptt).passed


def test_rnn_forward_check_catches_a_mean_loss_and_an_uncarried_state():
    def mean_loss(X_train, y_train, model, initial_state, verbose=False):
        h, ys, caches, loss = practical.rnn_forward(X_train, y_train, model, initial_state)
        return h, ys, caches, loss / len(X_train)

    def no_carry(X_train, y_train, model, initial_state, verbose=False):
        ys, caches, loss = [], [], 0.0
        for x, y in zip(X_train, y_train, strict=True):
            y_pred, h, cache = practical.cell_fn_forward(x, initial_state, model)
            loss += practical.cross_entropy(y_pred, y)
            ys.append(y_pred)
            caches.append(cache)
        return h, ys, caches, loss

    mean = str(checks.check_rnn_forward(mean_loss))
    assert "loss is off" in mean and "h: ok" not in mean
    assert "HINT: the loss is averaged over the steps" in mean
    assert "HINT: the state is not carried over" in str(checks.check_rnn_forward(no_carry))


def test_bptt_check_recognises_the_practicals_dh_next_shape():
    def practical_bptt(model, X_train, y_train, initial_state):
        last_state, ys, caches, loss = practical.rnn_forward(X_train, y_train, model, initial_state)
        loss /= len(X_train)
        dh_next = np.zeros((1, last_state.shape[0]))
        grads = {k: np.zeros_like(v) for k, v in model.items()}
        for t in reversed(range(len(X_train))):
            grad, dh_next = practical.cell_fn_backward(ys[t], y_train[t], dh_next, caches[t])
            for k in grads:
                grads[k] += grad[k]
        for k, v in grads.items():
            grads[k] = np.clip(v, -5.0, 5.0)
        return grads, loss, last_state

    result = checks.check_bptt(practical_bptt)
    assert result.cases[0].passed  # N = 1: the practical's shape broadcasts
    assert not result.passed
    text = str(result)
    assert "raised ValueError" in text
    assert "HINT: dh_next starts as np.zeros((1, N))" in text


def test_bptt_check_catches_a_truncated_backward_pass_and_an_unscaled_loss():
    def last_step_only(model, X_train, y_train, initial_state):
        grads, loss, last = practical.bptt(model, X_train, y_train, initial_state, truncate_steps=1)
        return grads, loss, last

    def summed_loss(model, X_train, y_train, initial_state):
        grads, loss, last = practical.bptt(model, X_train, y_train, initial_state)
        return grads, loss * len(X_train), last

    assert "grads['Whh'] is off" in str(checks.check_bptt(last_step_only))
    text = str(checks.check_bptt(summed_loss))
    assert "loss is off" in text and "HINT: bptt returns the loss divided by" in text


# --- the gradient check's checker --------------------------------------------------------------


def _gradient_check(*, floor=True, restore=True, denominator=2.0, compare=True):
    """The practical's rnn_gradient_check returning a bool, with optional mistakes."""

    def rnn_gradient_check(model, x, y, init_state, h=0.001, error_threshold=0.01):
        bptt_gradients, _, _ = bptt(model, x, y, init_state)
        for pname in ["Wxh", "Whh", "Why", "bh", "by"]:
            parameter = model[pname]
            for ix in np.ndindex(parameter.shape):
                original_value = parameter[ix]
                parameter[ix] = original_value + h
                plus = rnn_forward(x, y, model, init_state)[3]
                parameter[ix] = original_value - h
                minus = rnn_forward(x, y, model, init_state)[3]
                if restore:
                    parameter[ix] = original_value
                estimated = (plus - minus) / (denominator * h)
                backprop = bptt_gradients[pname][ix]
                total = np.abs(backprop) + np.abs(estimated)
                if floor:
                    total = max(1e-8, total)
                if compare and np.abs(backprop - estimated) / total > error_threshold:
                    return False
        return True

    return rnn_gradient_check


bptt = practical.bptt
rnn_forward = practical.rnn_forward


def test_gradient_check_checker_passes_a_correct_learner_version():
    result = checks.check_rnn_gradient_check(_gradient_check())
    assert result.passed, str(result)
    assert "worst relative error" not in str(result)


def test_gradient_check_checker_flags_the_practicals_0_over_0():
    result = checks.check_rnn_gradient_check(_gradient_check(floor=False))
    assert not result.passed
    text = str(result)
    assert "an input feature always 0 (exact zero gradients):" in text
    assert "raised FloatingPointError" in text
    assert "HINT: 0/0" in text
    assert "correct bptt: ok" in text


def test_gradient_check_checker_flags_a_check_that_never_fails():
    text = str(checks.check_rnn_gradient_check(_gradient_check(compare=False)))
    assert "1.5x too large:\n    - it passed, expected a failure" in text
    assert "HINT: a wrong gradient passes" in text


def test_gradient_check_checker_flags_a_wrong_difference_and_an_unrestored_model():
    text = str(checks.check_rnn_gradient_check(_gradient_check(denominator=1.0)))
    assert "correct bptt:\n    - it failed, expected a pass" in text
    assert "HINT: the central difference is (L(p + h) - L(p - h)) / (2 h)" in text
    text = str(checks.check_rnn_gradient_check(_gradient_check(restore=False)))
    assert "model['Wxh'] was left changed" in text
    assert "HINT: restore each entry" in text


def test_gradient_check_checker_leaves_the_callers_bptt_in_place():
    fn = _gradient_check()
    checks.check_rnn_gradient_check(fn)
    assert fn.__globals__["bptt"] is practical.bptt
    checks.check_rnn_gradient_check(practical.rnn_gradient_check)
    assert vars(practical)["bptt"] is bptt


# --- GRU and LSTM ------------------------------------------------------------------------------


def test_gru_forward_check_recognises_the_practicals_reset_gate_placement():
    def reset_before(x, h_prev, params):
        H = h_prev.shape[1]
        W_ih, W_hh, b_ih, b_hh = (params[k] for k in gru.GRU_PARAMETER_NAMES)
        gi, gh = x @ W_ih.T + b_ih, h_prev @ W_hh.T + b_hh
        r = 1 / (1 + np.exp(-(gi[:, :H] + gh[:, :H])))
        z = 1 / (1 + np.exp(-(gi[:, H : 2 * H] + gh[:, H : 2 * H])))
        hn = (r * h_prev) @ W_hh[2 * H :].T + b_hh[2 * H :]
        n = np.tanh(gi[:, 2 * H :] + hn)
        return (1 - z) * n + z * h_prev, (x, h_prev, r, z, n, hn, params)

    result = checks.check_gru_step_forward(reset_before)
    assert not result.passed
    assert "- h is off by relative error" in str(result)
    assert "HINT: the reset gate multiplies h_{t-1} before the matrix product" in str(result)


def test_gru_backward_check_finds_the_missing_direct_path_and_unsummed_biases():
    def no_direct(dh, cache):
        dx, dh_prev, dparams = gru.gru_step_backward(dh, cache)
        z = cache[3]
        return dx, dh_prev - dh * z, dparams

    def unsummed(dh, cache):
        dx, dh_prev, dparams = gru.gru_step_backward(dh, cache)
        per_row = np.broadcast_to(dparams["bias_ih"] / len(dh), (len(dh), dparams["bias_ih"].size))
        return dx, dh_prev, dict(dparams, bias_ih=per_row)

    text = str(checks.check_gru_step_backward(no_direct))
    assert "dh_prev is off" in text and "HINT: dh_prev misses the direct path" in text
    text = str(checks.check_gru_step_backward(unsummed))
    assert "dparams['bias_ih'] has shape (4, 9), expected (9,)" in text


@pytest.mark.parametrize(
    ("mistake", "hint"),
    [("dc", "you forget to add dc"), ("tanh_pre", "pre-activation"), ("bias", "not summed")],
)
def test_lstm_backward_check_diagnoses_each_classic_mistake(mistake, hint):
    result = checks.check_lstm_step_backward(checks._lstm_backward_variant(mistake))
    assert not result.passed
    assert hint in "\n".join(line for line in str(result).splitlines() if "HINT" in line)


def test_lstm_backward_check_is_independent_of_the_variants():
    """A learner's correct LSTM backward, written separately, passes against torch.autograd."""

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


def test_lstm_forward_check_catches_the_gate_order():
    result = checks.check_lstm_step_forward(checks._lstm_forward_variant("order"))
    assert not result.passed
    assert "HINT: the gates are in the wrong order" in str(result)
    assert checks.check_lstm_step_forward(lstm.lstm_step_forward).passed


def test_checks_import_without_torch():
    code = "import sys, rnn_reference.checks; assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


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


def test_bptt_check_recognises_overwritten_gradients():
    def overwrite(model, X_train, y_train, initial_state):
        last_state, ys, caches, loss = practical.rnn_forward(X_train, y_train, model, initial_state)
        dh_next = np.zeros_like(last_state)
        grads = {}
        for t in reversed(range(len(X_train))):
            grads, dh_next = practical.cell_fn_backward(ys[t], y_train[t], dh_next, caches[t])
        return grads, loss / len(X_train), last_state

    text = str(checks.check_bptt(overwrite))
    assert "grads['Wxh'] is off" in text
    assert "HINT: add each step's gradient into grads (+=)" in text
