"""A catalogue of learners' mistakes in every numpy exercise of notebooks 1 and 2: each one a
one-line edit of the solution, as a learner would make it. Every mistake must fail its check,
the named cause must be the right one, and most must be named.

The solutions are copied here (not read from the notebooks) so that the catalogue stays fixed
while the notebooks change; each edit must apply to exactly one place.
"""

from __future__ import annotations

import linecache
from collections import Counter

import numpy as np
import pytest

from rnn_reference import checks, practical
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

SOLUTIONS = {
    "cell_fn_forward": """
def cell_fn_forward(X, h, model, train=True):
    Wxh, Whh, Why = model["Wxh"], model["Whh"], model["Why"]
    bh, by = model["bh"], model["by"]
    hprev = h.copy()
    h, h_cache = tanh_forward(np.dot(hprev, Whh) + np.dot(X, Wxh) + bh)
    y, y_cache = fc_forward(h, Why, by)
    cache = (X, Whh, h, hprev, y, h_cache, y_cache)
    if not train:
        y = softmax(y)
    return y, h, cache
""",
    "rnn_forward": """
def rnn_forward(X_train, y_train, model, initial_state, verbose=True):
    ys = []
    caches = []
    loss = 0.0
    h = initial_state
    for t, (x, y) in enumerate(zip(X_train, y_train, strict=True)):
        y_pred, h, cache = cell_fn_forward(x, h, model, train=True)
        loss += cross_entropy(y_pred, y)
        ys.append(y_pred)
        caches.append(cache)
    return h, ys, caches, loss
""",
    "cell_fn_backward": """
def cell_fn_backward(y_pred, y_train, dh_next, cache):
    X, Whh, h, hprev, y, h_cache, y_cache = cache
    dy = dcross_entropy(y_pred, y_train)
    dh, dWhy, dby = fc_backward(dy, y_cache)
    dh += dh_next
    dby = dby.reshape((1, -1))
    dh = tanh_backward(dh, h_cache)
    dbh = np.sum(dh, axis=0, keepdims=True)
    dWhh = np.dot(hprev.T, dh)
    dWxh = np.dot(X.T, dh)
    dh_next = np.dot(dh, Whh.T)
    grad = dict(Wxh=dWxh, Whh=dWhh, Why=dWhy, bh=dbh, by=dby)
    return grad, dh_next
""",
    "bptt": """
def bptt(model, X_train, y_train, initial_state):
    last_state, ys, caches, loss = rnn_forward(X_train, y_train, model, initial_state, False)
    loss /= len(X_train)
    grads = {k: np.zeros_like(v) for k, v in model.items()}
    dh_next = np.zeros_like(last_state)
    for t in reversed(range(len(X_train))):
        grad, dh_next = cell_fn_backward(ys[t], y_train[t], dh_next, caches[t])
        for k in grads:
            grads[k] += grad[k]
    return grads, loss, last_state
""",
    "rnn_gradient_check": """
def rnn_gradient_check(model, x, y, init_state, h=0.001, error_threshold=0.01):
    bptt_gradients, _, _ = bptt(model, x, y, init_state)
    for pname in ["Wxh", "Whh", "Why", "bh", "by"]:
        parameter = model[pname]
        for ix in np.ndindex(parameter.shape):
            original_value = parameter[ix]
            parameter[ix] = original_value + h
            loss_plus = rnn_forward(x, y, model, init_state, verbose=False)[3]
            parameter[ix] = original_value - h
            loss_minus = rnn_forward(x, y, model, init_state, verbose=False)[3]
            parameter[ix] = original_value
            estimated_gradient = (loss_plus - loss_minus) / (2 * h)
            backprop_gradient = bptt_gradients[pname][ix]
            error = np.abs(backprop_gradient - estimated_gradient) / max(
                1e-8, np.abs(backprop_gradient) + np.abs(estimated_gradient)
            )
            if error > error_threshold:
                print(f"Gradient check ERROR: parameter={pname} ix={ix}")
                print(f"Estimated gradient: {estimated_gradient:f}")
                print(f"Backpropagation gradient: {backprop_gradient:f}")
                print(f"Relative error: {error:f}")
                return False
    return True
""",
    "gru_step_forward": """
def gru_step_forward(x, h_prev, params):
    H = h_prev.shape[1]
    gi = x @ params["weight_ih"].T + params["bias_ih"]
    gh = h_prev @ params["weight_hh"].T + params["bias_hh"]
    r = sigmoid(gi[:, :H] + gh[:, :H])
    z = sigmoid(gi[:, H : 2 * H] + gh[:, H : 2 * H])
    hn = gh[:, 2 * H :]
    n = np.tanh(gi[:, 2 * H :] + r * hn)
    h = (1.0 - z) * n + z * h_prev
    return h, (x, h_prev, r, z, n, hn, params)
""",
    "gru_step_backward": """
def gru_step_backward(dh, cache):
    x, h_prev, r, z, n, hn, params = cache
    dn = dh * (1.0 - z)
    dz = dh * (h_prev - n)
    dn_pre = dn * (1.0 - n**2)
    dr_pre = dn_pre * hn * r * (1.0 - r)
    dz_pre = dz * z * (1.0 - z)
    dgi = np.concatenate([dr_pre, dz_pre, dn_pre], axis=1)
    dgh = np.concatenate([dr_pre, dz_pre, dn_pre * r], axis=1)
    dparams = {
        "weight_ih": dgi.T @ x,
        "weight_hh": dgh.T @ h_prev,
        "bias_ih": dgi.sum(axis=0),
        "bias_hh": dgh.sum(axis=0),
    }
    dx = dgi @ params["weight_ih"]
    dh_prev = dh * z + dgh @ params["weight_hh"]
    return dx, dh_prev, dparams
""",
    "lstm_step_forward": """
def lstm_step_forward(x, h_prev, c_prev, params):
    H = h_prev.shape[1]
    a = x @ params["weight_ih"].T + params["bias_ih"] + h_prev @ params["weight_hh"].T
    a += params["bias_hh"]
    i = sigmoid(a[:, :H])
    f = sigmoid(a[:, H : 2 * H])
    g = np.tanh(a[:, 2 * H : 3 * H])
    o = sigmoid(a[:, 3 * H :])
    c = f * c_prev + i * g
    tanh_c = np.tanh(c)
    h = o * tanh_c
    return h, c, (x, h_prev, c_prev, i, f, g, o, tanh_c, params)
""",
    "lstm_step_backward": """
def lstm_step_backward(dh, dc, cache):
    x, h_prev, c_prev, i, f, g, o, tanh_c, params = cache
    dc_total = dc + dh * o * (1.0 - tanh_c**2)
    di = dc_total * g * i * (1.0 - i)
    df = dc_total * c_prev * f * (1.0 - f)
    dg = dc_total * i * (1.0 - g**2)
    do = dh * tanh_c * o * (1.0 - o)
    da = np.concatenate([di, df, dg, do], axis=1)
    dparams = {
        "weight_ih": da.T @ x,
        "weight_hh": da.T @ h_prev,
        "bias_ih": da.sum(axis=0),
        "bias_hh": da.sum(axis=0),
    }
    return da @ params["weight_ih"], da @ params["weight_hh"], dc_total * f, dparams
""",
}

# (exercise, the solution's text, the learner's text, a phrase of the cause the hint must name,
# or None where the report can only show where it fails). Grouped by exercise.
MISTAKES = {
    # --- cell_fn_forward ---
    "fwd_whh_transposed": (
        "cell_fn_forward",
        "np.dot(hprev, Whh)",
        "np.dot(hprev, Whh.T)",
        "Whh is used transposed",
    ),
    "fwd_wxh_transposed": ("cell_fn_forward", "np.dot(X, Wxh)", "np.dot(X, Wxh.T)", None),
    "fwd_no_bias": (
        "cell_fn_forward",
        "np.dot(X, Wxh) + bh",
        "np.dot(X, Wxh)",
        "the bias bh is missing",
    ),
    "fwd_no_recurrence": (
        "cell_fn_forward",
        "np.dot(hprev, Whh) + ",
        "",
        "the previous state is left out",
    ),
    "fwd_no_input": ("cell_fn_forward", " + np.dot(X, Wxh)", "", "the input is left out"),
    "fwd_no_tanh": (
        "cell_fn_forward",
        "h, h_cache = tanh_forward(np.dot(hprev, Whh) + np.dot(X, Wxh) + bh)",
        "h = h_cache = np.dot(hprev, Whh) + np.dot(X, Wxh) + bh",
        "the new state is not squashed",
    ),
    "fwd_sigmoid": (
        "cell_fn_forward",
        "h, h_cache = tanh_forward(np.dot(hprev, Whh) + np.dot(X, Wxh) + bh)",
        "h = h_cache = sigmoid(np.dot(hprev, Whh) + np.dot(X, Wxh) + bh)",
        "uses a sigmoid",
    ),
    "fwd_h_cache_pre_activation": (
        "cell_fn_forward",
        "h, h_cache = tanh_forward(np.dot(hprev, Whh) + np.dot(X, Wxh) + bh)",
        "h_cache = np.dot(hprev, Whh) + np.dot(X, Wxh) + bh\n    h = np.tanh(h_cache)",
        "h_cache holds the pre-activation",
    ),
    "fwd_readout_from_hprev": (
        "cell_fn_forward",
        "fc_forward(h, Why, by)",
        "fc_forward(hprev, Why, by)",
        "read out from the previous state",
    ),
    "fwd_no_readout_bias": (
        "cell_fn_forward",
        "fc_forward(h, Why, by)",
        "fc_forward(h, Why, 0.0)",
        "the bias by is missing",
    ),
    "fwd_softmax_always": (
        "cell_fn_forward",
        "    if not train:\n        y = softmax(y)\n",
        "    y = softmax(y)\n",
        "apply the softmax only when train=False",
    ),
    "fwd_softmax_never": (
        "cell_fn_forward",
        "    if not train:\n        y = softmax(y)\n",
        "",
        "must be the probabilities",
    ),
    "fwd_softmax_before_cache": (
        "cell_fn_forward",
        "    cache = (X, Whh, h, hprev, y, h_cache, y_cache)\n    if not train:\n"
        "        y = softmax(y)\n",
        "    if not train:\n        y = softmax(y)\n"
        "    cache = (X, Whh, h, hprev, y, h_cache, y_cache)\n",
        "the cache holds the probabilities",
    ),
    "fwd_cache_h_hprev_swapped": (
        "cell_fn_forward",
        "(X, Whh, h, hprev, y,",
        "(X, Whh, hprev, h, y,",
        "has h and hprev swapped",
    ),
    "fwd_returns_hprev": (
        "cell_fn_forward",
        "return y, h, cache",
        "return y, hprev, cache",
        "the state returned is the previous one",
    ),
    "fwd_in_place_state": (
        "cell_fn_forward",
        "h, h_cache = tanh_forward(np.dot(hprev, Whh) + np.dot(X, Wxh) + bh)",
        "h[:] = np.tanh(np.dot(hprev, Whh) + np.dot(X, Wxh) + bh)\n    h_cache = h",
        "changes its input h in place",
    ),
    "fwd_readout_tanh": (
        "cell_fn_forward",
        "y, y_cache = fc_forward(h, Why, by)",
        "y, y_cache = fc_forward(h, Why, by)\n    y = np.tanh(y)",
        "squashed by a tanh",
    ),
    "fwd_why_transposed": (
        "cell_fn_forward",
        "fc_forward(h, Why, by)",
        "fc_forward(h, Why.T, by)",
        None,
    ),
    # --- rnn_forward ---
    "seq_mean_loss": (
        "rnn_forward",
        "    return h, ys, caches, loss",
        "    return h, ys, caches, loss / len(X_train)",
        "averaged over the steps",
    ),
    "seq_not_carried": (
        "rnn_forward",
        "cell_fn_forward(x, h, model",
        "cell_fn_forward(x, initial_state, model",
        "not carried over",
    ),
    "seq_zero_start": (
        "rnn_forward",
        "h = initial_state",
        "h = np.zeros_like(initial_state)",
        "starts from zeros",
    ),
    "seq_train_false": ("rnn_forward", "train=True", "train=False", "train=False"),
    "seq_loss_overwritten": (
        "rnn_forward",
        "loss += cross_entropy",
        "loss = cross_entropy",
        "overwritten at each step",
    ),
    "seq_batch_sum": (
        "rnn_forward",
        "loss += cross_entropy(y_pred, y)",
        "loss += cross_entropy(y_pred, y) * len(y_pred)",
        "summed over the batch",
    ),
    "seq_last_step_left_out": (
        "rnn_forward",
        "zip(X_train, y_train, strict=True)",
        "zip(X_train[:-1], y_train[:-1], strict=True)",
        "the last step is left out",
    ),
    "seq_backwards": (
        "rnn_forward",
        "zip(X_train, y_train, strict=True)",
        "zip(X_train[::-1], y_train[::-1], strict=True)",
        "the steps run backwards",
    ),
    "seq_returns_initial": (
        "rnn_forward",
        "return h, ys, caches, loss",
        "return initial_state, ys, caches, loss",
        "the state returned is initial_state",
    ),
    "seq_caches_last_only": (
        "rnn_forward",
        "caches.append(cache)",
        "caches = cache",
        "caches must hold every step's cache",
    ),
    # --- cell_fn_backward ---
    "bwd_no_dh_next": (
        "cell_fn_backward",
        "    dh += dh_next\n",
        "",
        "dh_next (the gradient from step t+1) is not added",
    ),
    "bwd_dh_next_after_tanh": (
        "cell_fn_backward",
        "    dh += dh_next\n    dby = dby.reshape((1, -1))\n    dh = tanh_backward(dh, h_cache)\n",
        "    dby = dby.reshape((1, -1))\n    dh = tanh_backward(dh, h_cache) + dh_next\n",
        "dh_next is added after the tanh",
    ),
    "bwd_dh_next_subtracted": (
        "cell_fn_backward",
        "dh += dh_next",
        "dh -= dh_next",
        "dh_next is subtracted",
    ),
    "bwd_tanh_of_cache": (
        "cell_fn_backward",
        "dh = tanh_backward(dh, h_cache)",
        "dh = (1 - np.tanh(h_cache) ** 2) * dh",
        "applies tanh to h_cache",
    ),
    "bwd_tanh_from_pre_activation": (
        "cell_fn_backward",
        "dh = tanh_backward(dh, h_cache)",
        "dh = (1 - np.arctanh(h_cache) ** 2) * dh",
        "taken from the pre-activation",
    ),
    "bwd_no_tanh": (
        "cell_fn_backward",
        "    dh = tanh_backward(dh, h_cache)\n",
        "",
        "skips the tanh",
    ),
    "bwd_sigmoid_derivative": (
        "cell_fn_backward",
        "dh = tanh_backward(dh, h_cache)",
        "dh = h_cache * (1 - h_cache) * dh",
        "a sigmoid's derivative",
    ),
    "bwd_unsquared": (
        "cell_fn_backward",
        "dh = tanh_backward(dh, h_cache)",
        "dh = (1 - h_cache) * dh",
        "not 1 - h_cache",
    ),
    "bwd_bias_not_summed": (
        "cell_fn_backward",
        "dbh = np.sum(dh, axis=0, keepdims=True)",
        "dbh = dh",
        "dbh is not summed over the batch",
    ),
    "bwd_bias_no_keepdims": (
        "cell_fn_backward",
        "dbh = np.sum(dh, axis=0, keepdims=True)",
        "dbh = np.sum(dh, axis=0)",
        "must have the bias's shape (1, H)",
    ),
    "bwd_bias_mean": (
        "cell_fn_backward",
        "dbh = np.sum(dh, axis=0, keepdims=True)",
        "dbh = np.mean(dh, axis=0, keepdims=True)",
        "dbh is averaged",
    ),
    "bwd_dby_not_reshaped": (
        "cell_fn_backward",
        "    dby = dby.reshape((1, -1))\n",
        "",
        "dby must have the bias's shape (1, C)",
    ),
    "bwd_dwhh_from_h": (
        "cell_fn_backward",
        "np.dot(hprev.T, dh)",
        "np.dot(h.T, dh)",
        "dWhh uses the new state h",
    ),
    "bwd_dwhh_transposed": (
        "cell_fn_backward",
        "np.dot(hprev.T, dh)",
        "np.dot(dh.T, hprev)",
        "dWhh is transposed",
    ),
    "bwd_dwxh_transposed": (
        "cell_fn_backward",
        "np.dot(X.T, dh)",
        "np.dot(dh.T, X)",
        "dWxh is transposed",
    ),
    "bwd_dh_next_untransposed": (
        "cell_fn_backward",
        "np.dot(dh, Whh.T)",
        "np.dot(dh, Whh)",
        "Whh is used untransposed",
    ),
    "bwd_dh_next_unchanged": (
        "cell_fn_backward",
        "    dh_next = np.dot(dh, Whh.T)\n",
        "",
        "the dh_next returned is the one received",
    ),
    "bwd_dy_flipped": (
        "cell_fn_backward",
        "dy = dcross_entropy(y_pred, y_train)",
        "dy = -dcross_entropy(y_pred, y_train)",
        "dy's sign is flipped",
    ),
    "bwd_dy_not_averaged": (
        "cell_fn_backward",
        "dy = dcross_entropy(y_pred, y_train)",
        "dy = dcross_entropy(y_pred, y_train) * len(y_pred)",
        "dy is not divided by N",
    ),
    "bwd_dwhy_from_hprev": (
        "cell_fn_backward",
        "dh, dWhy, dby = fc_backward(dy, y_cache)",
        "dh, dWhy, dby = fc_backward(dy, (y_cache[0], hprev))",
        "dWhy uses hprev",
    ),
    "bwd_dh_next_before_tanh": (
        "cell_fn_backward",
        "    dh = tanh_backward(dh, h_cache)\n    dbh = np.sum(dh, axis=0, keepdims=True)\n"
        "    dWhh = np.dot(hprev.T, dh)\n    dWxh = np.dot(X.T, dh)\n"
        "    dh_next = np.dot(dh, Whh.T)\n",
        "    dh_next = np.dot(dh, Whh.T)\n    dh = tanh_backward(dh, h_cache)\n"
        "    dbh = np.sum(dh, axis=0, keepdims=True)\n    dWhh = np.dot(hprev.T, dh)\n"
        "    dWxh = np.dot(X.T, dh)\n",
        "the new dh_next uses the gradient before the tanh",
    ),
    "bwd_dh_next_in_place": (
        "cell_fn_backward",
        "    dh += dh_next\n",
        "    dh_next += dh\n    dh = dh_next\n",
        "changes its input dh_next in place",
    ),
    # --- bptt ---
    "bptt_clipped": (
        "bptt",
        "    return grads, loss, last_state",
        "    grads = {k: np.clip(v, -5, 5) for k, v in grads.items()}\n"
        "    return grads, loss, last_state",
        "the gradients are clipped",
    ),
    "bptt_loss_not_divided": (
        "bptt",
        "    loss /= len(X_train)\n",
        "",
        "bptt returns the loss divided by T",
    ),
    "bptt_grads_divided": (
        "bptt",
        "    return grads, loss, last_state",
        "    grads = {k: v / len(X_train) for k, v in grads.items()}\n"
        "    return grads, loss, last_state",
        "the gradients are divided by T",
    ),
    "bptt_practical_dh_next": (
        "bptt",
        "np.zeros_like(last_state)",
        "np.zeros((1, last_state.shape[0]))",
        "dh_next starts as np.zeros((1, N))",
    ),
    "bptt_forwards": (
        "bptt",
        "reversed(range(len(X_train)))",
        "range(len(X_train))",
        "go backwards in time",
    ),
    "bptt_skips_step_0": (
        "bptt",
        "reversed(range(len(X_train)))",
        "range(len(X_train) - 1, 0, -1)",
        "step 0 is left out",
    ),
    "bptt_skips_last_step": (
        "bptt",
        "reversed(range(len(X_train)))",
        "reversed(range(len(X_train) - 1))",
        "the last step, T-1, is left out",
    ),
    "bptt_same_dh_next": (
        "bptt",
        "grad, dh_next = cell_fn_backward",
        "grad, _ = cell_fn_backward",
        "each step must get the dh_next returned",
    ),
    "bptt_overwrite": (
        "bptt",
        "grads[k] += grad[k]",
        "grads[k] = grad[k]",
        "instead of replacing it",
    ),
    "bptt_grads_are_model": (
        "bptt",
        "grads = {k: np.zeros_like(v) for k, v in model.items()}",
        "grads = model",
        "changes its input model",
    ),
    "bptt_grads_from_model_copy": (
        "bptt",
        "np.zeros_like(v)",
        "v.copy()",
        "grads start from the model's values",
    ),
    "bptt_returns_initial_state": (
        "bptt",
        "return grads, loss, last_state",
        "return grads, loss, initial_state",
        "not initial_state",
    ),
    "bptt_global_norm_clip": (
        "bptt",
        "    return grads, loss, last_state",
        "    norm = np.sqrt(sum(np.sum(v**2) for v in grads.values()))\n"
        "    if norm > 5:\n        grads = {k: v * 5 / norm for k, v in grads.items()}\n"
        "    return grads, loss, last_state",
        "the gradients are clipped",
    ),
    # --- rnn_gradient_check ---
    "gc_signed_error": (
        "rnn_gradient_check",
        "error = np.abs(backprop_gradient - estimated_gradient)",
        "error = (backprop_gradient - estimated_gradient)",
        "the error has a sign",
    ),
    "gc_signed_error_other_way": (
        "rnn_gradient_check",
        "error = np.abs(backprop_gradient - estimated_gradient)",
        "error = (estimated_gradient - backprop_gradient)",
        "the error has a sign",
    ),
    "gc_absolute_error": (
        "rnn_gradient_check",
        "np.abs(backprop_gradient - estimated_gradient) / max(\n"
        "                1e-8, np.abs(backprop_gradient) + np.abs(estimated_gradient)\n"
        "            )",
        "np.abs(backprop_gradient - estimated_gradient)",
        "an absolute error",
    ),
    "gc_no_floor": (
        "rnn_gradient_check",
        "max(\n                1e-8, np.abs",
        "(\n                np.abs",
        "0/0",
    ),
    "gc_not_restored": (
        "rnn_gradient_check",
        "            parameter[ix] = original_value\n            estimated",
        "            estimated",
        "the model is left changed",
    ),
    "gc_one_sided": (
        "rnn_gradient_check",
        "parameter[ix] = original_value - h\n            loss_minus",
        "parameter[ix] = original_value\n            loss_minus",
        "one-sided",
    ),
    "gc_divides_by_h": (
        "rnn_gradient_check",
        "/ (2 * h)",
        "/ h",
        "divide L(p + h) - L(p - h) by 2h",
    ),
    "gc_whole_matrix": (
        "rnn_gradient_check",
        "            parameter[ix] = original_value + h\n"
        "            loss_plus = rnn_forward(x, y, model, init_state, verbose=False)[3]\n"
        "            parameter[ix] = original_value - h\n"
        "            loss_minus = rnn_forward(x, y, model, init_state, verbose=False)[3]\n"
        "            parameter[ix] = original_value\n",
        "            parameter += h\n"
        "            loss_plus = rnn_forward(x, y, model, init_state, verbose=False)[3]\n"
        "            parameter -= 2 * h\n"
        "            loss_minus = rnn_forward(x, y, model, init_state, verbose=False)[3]\n"
        "            parameter += h\n",
        "a whole parameter is moved at once",
    ),
    "gc_never_fails": (
        "rnn_gradient_check",
        "if error > error_threshold:",
        "if error > 1e9:",
        "wrong gradients pass",
    ),
    "gc_loss_from_bptt": (
        "rnn_gradient_check",
        "loss_plus = rnn_forward(x, y, model, init_state, verbose=False)[3]",
        "loss_plus = bptt(model, x, y, init_state)[1]",
        "the loss comes from bptt",
    ),
    "gc_flipped_difference": (
        "rnn_gradient_check",
        "(loss_plus - loss_minus)",
        "(loss_minus - loss_plus)",
        "the estimate has the wrong sign",
    ),
    "gc_step_2h": (
        "rnn_gradient_check",
        "original_value + h\n",
        "original_value + 2 * h\n",
        "entries are moved by",
    ),
    # --- gru_step_forward ---
    "gru_reset_before": (
        "gru_step_forward",
        "    hn = gh[:, 2 * H :]\n    n = np.tanh(gi[:, 2 * H :] + r * hn)\n",
        '    hn = (r * h_prev) @ params["weight_hh"][2 * H :].T + params["bias_hh"][2 * H :]\n'
        "    n = np.tanh(gi[:, 2 * H :] + hn)\n",
        "Cho et al.",
    ),
    "gru_keras_order": (
        "gru_step_forward",
        "    r = sigmoid(gi[:, :H] + gh[:, :H])\n"
        "    z = sigmoid(gi[:, H : 2 * H] + gh[:, H : 2 * H])\n",
        "    z = sigmoid(gi[:, :H] + gh[:, :H])\n"
        "    r = sigmoid(gi[:, H : 2 * H] + gh[:, H : 2 * H])\n",
        "Keras's z, r, h",
    ),
    "gru_z_swapped": (
        "gru_step_forward",
        "h = (1.0 - z) * n + z * h_prev",
        "h = z * n + (1.0 - z) * h_prev",
        "z and 1 - z are swapped",
    ),
    "gru_no_direct": (
        "gru_step_forward",
        "h = (1.0 - z) * n + z * h_prev",
        "h = (1.0 - z) * n",
        "the direct path is missing",
    ),
    "gru_no_reset": ("gru_step_forward", "+ r * hn)", "+ hn)", "the reset gate is missing"),
    "gru_bias_outside_reset": (
        "gru_step_forward",
        "    n = np.tanh(gi[:, 2 * H :] + r * hn)\n",
        '    n = np.tanh(gi[:, 2 * H :] + r * (h_prev @ params["weight_hh"][2 * H :].T) +'
        ' params["bias_hh"][2 * H :])\n',
        "b_hn is inside the reset",
    ),
    "gru_n_sigmoid": (
        "gru_step_forward",
        "n = np.tanh(",
        "n = sigmoid(",
        "is a tanh, not a sigmoid",
    ),
    "gru_r_tanh": ("gru_step_forward", "r = sigmoid(", "r = np.tanh(", "gate r is a sigmoid"),
    "gru_no_bias_hh": (
        "gru_step_forward",
        '@ params["weight_hh"].T + params["bias_hh"]',
        '@ params["weight_hh"].T',
        "bias_hh is missing",
    ),
    "gru_weight_untransposed": (
        "gru_step_forward",
        'x @ params["weight_ih"].T',
        'x @ params["weight_ih"]',
        "weight_ih is (3H, D)",
    ),
    "gru_cache_n_pre": (
        "gru_step_forward",
        "    n = np.tanh(gi[:, 2 * H :] + r * hn)\n    h = (1.0 - z) * n + z * h_prev\n"
        "    return h, (x, h_prev, r, z, n, hn, params)",
        "    a_n = gi[:, 2 * H :] + r * hn\n    h = (1.0 - z) * np.tanh(a_n) + z * h_prev\n"
        "    return h, (x, h_prev, r, z, a_n, hn, params)",
        "the cache's n must be tanh's output",
    ),
    "gru_cache_r_z_swapped": (
        "gru_step_forward",
        "(x, h_prev, r, z, n, hn, params)",
        "(x, h_prev, z, r, n, hn, params)",
        "has r and z swapped",
    ),
    "gru_in_place_state": (
        "gru_step_forward",
        "    h = (1.0 - z) * n + z * h_prev\n    return h, (x, h_prev,",
        "    h_old = h_prev.copy()\n    h_prev *= z\n    h_prev += (1.0 - z) * n\n    h = h_prev\n"
        "    return h, (x, h_old,",
        "changes its input h_prev in place",
    ),
    # --- gru_step_backward ---
    "grub_no_direct": (
        "gru_step_backward",
        "dh_prev = dh * z + dgh",
        "dh_prev = dgh",
        "misses the direct path",
    ),
    "grub_z_swapped": (
        "gru_step_backward",
        "    dn = dh * (1.0 - z)\n    dz = dh * (h_prev - n)\n",
        "    dn = dh * z\n    dz = dh * (n - h_prev)\n",
        None,
    ),
    "grub_dz_flipped": (
        "gru_step_backward",
        "dz = dh * (h_prev - n)",
        "dz = dh * (n - h_prev)",
        "dz has the wrong sign",
    ),
    "grub_tanh_of_n": (
        "gru_step_backward",
        "dn_pre = dn * (1.0 - n**2)",
        "dn_pre = dn * (1.0 - np.tanh(n) ** 2)",
        "applies tanh to n",
    ),
    "grub_no_tanh": (
        "gru_step_backward",
        "dn_pre = dn * (1.0 - n**2)",
        "dn_pre = dn",
        "skips the tanh of n",
    ),
    "grub_no_r_sigmoid": (
        "gru_step_backward",
        "dr_pre = dn_pre * hn * r * (1.0 - r)",
        "dr_pre = dn_pre * hn",
        "skips the sigmoid of gate r",
    ),
    "grub_z_tanh_derivative": (
        "gru_step_backward",
        "dz_pre = dz * z * (1.0 - z)",
        "dz_pre = dz * (1.0 - z**2)",
        "gate z is a sigmoid",
    ),
    "grub_dr_h_prev": (
        "gru_step_backward",
        "dr_pre = dn_pre * hn *",
        "dr_pre = dn_pre * h_prev *",
        "r multiplies hn",
    ),
    "grub_dgh_no_reset": (
        "gru_step_backward",
        "dn_pre * r], axis=1)",
        "dn_pre], axis=1)",
        "dgh's n block is da_n * r",
    ),
    "grub_dgi_with_reset": (
        "gru_step_backward",
        "dgi = np.concatenate([dr_pre, dz_pre, dn_pre]",
        "dgi = np.concatenate([dr_pre, dz_pre, dn_pre * r]",
        "only the hidden part of n is multiplied by r",
    ),
    "grub_bias_not_summed": (
        "gru_step_backward",
        '"bias_ih": dgi.sum(axis=0)',
        '"bias_ih": dgi',
        "not summed over the batch",
    ),
    "grub_bias_hh_from_dgi": (
        "gru_step_backward",
        '"bias_hh": dgh.sum(axis=0)',
        '"bias_hh": dgi.sum(axis=0)',
        "bias_hh's gradient is dgh summed",
    ),
    "grub_weight_hh_from_dgi": (
        "gru_step_backward",
        "dgh.T @ h_prev",
        "dgi.T @ h_prev",
        "uses the hidden parts, dgh.T @ h_prev",
    ),
    "grub_order_zrn": (
        "gru_step_backward",
        "    dgi = np.concatenate([dr_pre, dz_pre, dn_pre], axis=1)\n"
        "    dgh = np.concatenate([dr_pre, dz_pre, dn_pre * r], axis=1)\n",
        "    dgi = np.concatenate([dz_pre, dr_pre, dn_pre], axis=1)\n"
        "    dgh = np.concatenate([dz_pre, dr_pre, dn_pre * r], axis=1)\n",
        "stack the gates in the order z, r, n",
    ),
    "grub_dh_prev_from_dgi": (
        "gru_step_backward",
        "dh * z + dgh @",
        "dh * z + dgi @",
        "dh_prev's matrix part uses the hidden parts",
    ),
    "grub_bias_mean": (
        "gru_step_backward",
        '"bias_hh": dgh.sum(axis=0)',
        '"bias_hh": dgh.mean(axis=0)',
        "averaged over the batch",
    ),
    # --- lstm_step_forward ---
    "lstm_tf_order": (
        "lstm_step_forward",
        "    f = sigmoid(a[:, H : 2 * H])\n    g = np.tanh(a[:, 2 * H : 3 * H])\n",
        "    g = np.tanh(a[:, H : 2 * H])\n    f = sigmoid(a[:, 2 * H : 3 * H])\n",
        "TensorFlow's i, j, f, o",
    ),
    "lstm_ifog_order": (
        "lstm_step_forward",
        "    g = np.tanh(a[:, 2 * H : 3 * H])\n    o = sigmoid(a[:, 3 * H :])\n",
        "    o = sigmoid(a[:, 2 * H : 3 * H])\n    g = np.tanh(a[:, 3 * H :])\n",
        "the order i, f, o, g",
    ),
    "lstm_forget_bias": (
        "lstm_step_forward",
        "f = sigmoid(a[:, H : 2 * H])",
        "f = sigmoid(a[:, H : 2 * H] + 1.0)",
        "forget_bias=1.0",
    ),
    "lstm_no_tanh_c": (
        "lstm_step_forward",
        "h = o * tanh_c",
        "h = o * c",
        "squashed by tanh before the output gate",
    ),
    "lstm_tanh_outside": (
        "lstm_step_forward",
        "h = o * tanh_c",
        "h = np.tanh(o * c)",
        "not tanh(o * c)",
    ),
    "lstm_no_input_gate": (
        "lstm_step_forward",
        "c = f * c_prev + i * g",
        "c = f * c_prev + g",
        "the input gate multiplies g",
    ),
    "lstm_i_f_swapped": (
        "lstm_step_forward",
        "c = f * c_prev + i * g",
        "c = i * c_prev + f * g",
        "i and f are swapped",
    ),
    "lstm_c_from_h_prev": (
        "lstm_step_forward",
        "c = f * c_prev + i * g",
        "c = f * h_prev + i * g",
        "not h_prev",
    ),
    "lstm_g_sigmoid": (
        "lstm_step_forward",
        "g = np.tanh(",
        "g = sigmoid(",
        "g, the candidate, is a tanh",
    ),
    "lstm_no_bias_hh": (
        "lstm_step_forward",
        '    a += params["bias_hh"]\n',
        "",
        "bias_hh is missing",
    ),
    "lstm_cache_c_for_tanh_c": (
        "lstm_step_forward",
        "o, tanh_c, params)",
        "o, c, params)",
        "the cache's tanh_c must be tanh(c)",
    ),
    "lstm_in_place_memory": (
        "lstm_step_forward",
        "    c = f * c_prev + i * g\n",
        "    c_in = c_prev.copy()\n    c_prev *= f\n    c_prev += i * g\n    c = c_prev\n"
        "    c_prev = c_in\n",
        "changes its input c_prev in place",
    ),
    # --- lstm_step_backward ---
    "lstmb_no_dc": (
        "lstm_step_backward",
        "dc_total = dc + dh",
        "dc_total = dh",
        "you forget to add dc",
    ),
    "lstmb_no_h_path": (
        "lstm_step_backward",
        "dc_total = dc + dh * o * (1.0 - tanh_c**2)",
        "dc_total = dc",
        "the memory's gradient through h is missing",
    ),
    "lstmb_tanh_of_tanh_c": (
        "lstm_step_backward",
        "(1.0 - tanh_c**2)",
        "(1.0 - np.tanh(tanh_c) ** 2)",
        "applies tanh to tanh_c",
    ),
    "lstmb_no_tanh_derivative": (
        "lstm_step_backward",
        "dc_total = dc + dh * o * (1.0 - tanh_c**2)",
        "dc_total = dc + dh * o",
        "skips the tanh of tanh_c",
    ),
    "lstmb_no_g_derivative": (
        "lstm_step_backward",
        "dg = dc_total * i * (1.0 - g**2)",
        "dg = dc_total * i",
        "skips the tanh of g",
    ),
    "lstmb_f_tanh_derivative": (
        "lstm_step_backward",
        "f * (1.0 - f)",
        "(1.0 - f**2)",
        "gate f is a sigmoid",
    ),
    "lstmb_no_o_derivative": (
        "lstm_step_backward",
        "do = dh * tanh_c * o * (1.0 - o)",
        "do = dh * tanh_c",
        "skips the sigmoid of gate o",
    ),
    "lstmb_tf_order": (
        "lstm_step_backward",
        "[di, df, dg, do]",
        "[di, dg, df, do]",
        "TensorFlow's i, j, f, o",
    ),
    "lstmb_dc_prev_no_forget": (
        "lstm_step_backward",
        "dc_total * f, dparams",
        "dc_total, dparams",
        "through the forget gate",
    ),
    "lstmb_dc_prev_incoming_only": (
        "lstm_step_backward",
        "dc_total * f, dparams",
        "dc * f, dparams",
        "the memory's total gradient",
    ),
    "lstmb_bias_not_summed": (
        "lstm_step_backward",
        '"bias_ih": da.sum(axis=0),',
        '"bias_ih": da,',
        None,
    ),
    "lstmb_weight_transposed": (
        "lstm_step_backward",
        '"weight_hh": da.T @ h_prev',
        '"weight_hh": h_prev.T @ da',
        "weight_hh's gradient is da.T @ h_prev",
    ),
    "lstmb_do_uses_dc_total": (
        "lstm_step_backward",
        "do = dh * tanh_c",
        "do = dc_total * tanh_c",
        None,
    ),
}
NAMESPACE = {
    "np": np,
    "sigmoid": sigmoid,
    "softmax": softmax,
    "cross_entropy": cross_entropy,
    "dcross_entropy": dcross_entropy,
    "fc_forward": fc_forward,
    "fc_backward": fc_backward,
    "tanh_forward": tanh_forward,
    "tanh_backward": tanh_backward,
    "cell_fn_forward": practical.cell_fn_forward,
    "rnn_forward": practical.rnn_forward,
    "cell_fn_backward": practical.cell_fn_backward,
    "bptt": practical.bptt,
}


def learners_function(exercise: str, old: str | None = None, new: str | None = None):
    """The solution of ``exercise``, edited, defined as a notebook cell would define it (its
    source in linecache, so that an error can show the learner's line)."""
    source = SOLUTIONS[exercise]
    if old is not None:
        assert source.count(old) == 1, f"{old!r} must occur once in {exercise}'s solution"
        source = source.replace(old, new)
    filename = f"<learner's {exercise}: {abs(hash(source))}>"
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    namespace = dict(NAMESPACE)
    exec(compile(source, filename, "exec"), namespace)
    return namespace[exercise]


def check(exercise: str, fn):
    return getattr(checks, f"check_{exercise}")(fn)


_RESULTS = {}


def result_of(key: str):
    if key not in _RESULTS:
        exercise, old, new, _ = MISTAKES[key]
        _RESULTS[key] = check(exercise, learners_function(exercise, old, new))
    return _RESULTS[key]


def test_the_catalogue_covers_every_numpy_exercise_with_at_least_80_mistakes():
    per_exercise = Counter(exercise for exercise, _, _, _ in MISTAKES.values())
    assert set(per_exercise) == set(SOLUTIONS)
    assert len(MISTAKES) >= 80
    assert min(per_exercise.values()) >= 8


@pytest.mark.parametrize("exercise", sorted(SOLUTIONS))
def test_the_unedited_solutions_pass(exercise):
    result = check(exercise, learners_function(exercise))
    assert result.passed, str(result)
    assert not result.causes


@pytest.mark.parametrize("key", sorted(MISTAKES))
def test_every_mistake_is_caught(key):
    result = result_of(key)
    assert not result.passed, f"{key} passes:\n{result}"
    assert str(result).startswith(f"{MISTAKES[key][0]}: FAILED")


@pytest.mark.parametrize("key", sorted(k for k, v in MISTAKES.items() if v[3] is not None))
def test_the_hint_names_the_cause(key):
    result = result_of(key)
    cause = MISTAKES[key][3]
    assert any(cause in hint for hint in result.causes), f"{key}:\n{result}"


@pytest.mark.parametrize("key", sorted(MISTAKES))
def test_no_hint_misleads(key):
    """Every cause a report names is the mistake made; where the catalogue expects none (the
    mistake is not a one-term change the checker knows), the report names none."""
    result = result_of(key)
    cause = MISTAKES[key][3]
    for hint in result.causes:
        assert cause is not None and cause in hint, f"{key} gets a wrong hint:\n{result}"


def test_most_mistakes_are_named():
    named = sum(cause is not None for _, _, _, cause in MISTAKES.values())
    assert named >= 0.85 * len(MISTAKES)
