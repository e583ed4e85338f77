"""The practical's four vanilla-RNN exercises written with slips: each term of the reference with
the mistakes a learner makes in it, and what each mistake is called.

Shape legend: N batch, T steps, D input, H hidden, C classes. Without a slip each function
returns exactly what :mod:`rnn_reference.practical`'s does.
"""

from __future__ import annotations

import numpy as np

from rnn_reference.checking.slips import Slip, batch_sum, swaps, tanh_derivative
from rnn_reference.layers import cross_entropy, dcross_entropy, sigmoid, softmax
from rnn_reference.practical import (
    MODEL_PARAMETER_NAMES,
    cell_fn_backward,
    cell_fn_forward,
    clip_gradients,
    rnn_forward,
)

CACHE_NAMES = ("X", "Whh", "h", "hprev", "y", "h_cache", "y_cache")
PRE_ACTIVATION = "the pre-activation is hprev @ Whh + X @ Wxh + bh"


def cell_fn_forward_slips(X, h, model, train=True, slip=None):
    """:func:`~rnn_reference.practical.cell_fn_forward` with slips."""
    slip = slip or Slip()
    Wxh, Whh, Why, bh, by = (model[name] for name in MODEL_PARAMETER_NAMES)
    hprev = h.copy()
    recurrent = slip(
        "hprev @ Whh",
        hprev @ Whh,
        transposed=(
            "Whh is used transposed: the recurrent term is hprev @ Whh",
            lambda: hprev @ Whh.T,
        ),
        dropped=(f"the previous state is left out: {PRE_ACTIVATION}", lambda: 0.0),
        wrong_weight=("hprev is multiplied by Wxh; it is hprev @ Whh", lambda: hprev @ Wxh),
    )
    feed = slip(
        "X @ Wxh",
        X @ Wxh,
        transposed=(
            "Wxh is used transposed: the input term is X @ Wxh, (N, D) @ (D, H)",
            lambda: X @ Wxh.T,
        ),
        dropped=(f"the input is left out: {PRE_ACTIVATION}", lambda: 0.0),
        wrong_weight=("X is multiplied by Whh; it is X @ Wxh", lambda: X @ Whh),
    )
    bias = slip("bh", bh, dropped=(f"the bias bh is missing: {PRE_ACTIVATION}", lambda: 0.0))
    a = recurrent + feed + bias
    h_new = slip(
        "tanh",
        np.tanh(a),
        dropped=("the new state is not squashed: h = tanh(hprev @ Whh + X @ Wxh + bh)", lambda: a),
        sigmoid=("the new state uses a sigmoid; the vanilla RNN's is a tanh", lambda: sigmoid(a)),
        relu=("the new state uses a relu; the vanilla RNN's is a tanh", lambda: np.maximum(a, 0)),
    )
    h_cache = slip(
        "h_cache",
        h_new,
        pre_activation=(
            "h_cache holds the pre-activation; it must hold the tanh's output, h (tanh_forward's "
            "cache), because tanh_backward computes 1 - h_cache**2",
            lambda: a,
        ),
    )
    read = slip(
        "readout input",
        h_new,
        previous=(
            "y is read out from the previous state; use the new one: y = h @ Why + by",
            lambda: hprev,
        ),
    )
    logits = read @ Why + slip(
        "by", by, dropped=("the bias by is missing from the readout: y = h @ Why + by", lambda: 0.0)
    )
    logits = slip(
        "readout",
        logits,
        squashed=(
            "y is squashed by a tanh; the readout is linear: y = h @ Why + by",
            lambda: np.tanh(logits),
        ),
    )
    probabilities = softmax(logits)
    cached_y = slip(
        "cached y",
        logits,
        probabilities=(
            "the cache holds the probabilities: cache[4] must be the logits, also when train=False",
            lambda: logits if train else probabilities,
        ),
    )
    y = slip(
        "softmax",
        logits if train else probabilities,
        always=(
            "with train=True, y must be the logits: apply the softmax only when train=False",
            lambda: probabilities,
        ),
        never=("with train=False, y must be the probabilities, softmax(y)", lambda: logits),
    )
    cache = (X, Whh, h_new, hprev, cached_y, h_cache, (Why, read))
    cache = slip("cache order", cache, **swaps(cache, CACHE_NAMES, "the cache"))
    returned = slip(
        "returned h",
        h_new,
        previous=("the state returned is the previous one; return the new h", lambda: hprev),
    )
    return y, returned, cache


def rnn_forward_slips(X_train, y_train, model, initial_state, verbose=False, slip=None):
    """:func:`~rnn_reference.practical.rnn_forward` with slips."""
    slip = slip or Slip()
    T = len(X_train)
    steps = slip(
        "steps",
        list(range(T)),
        last_left_out=(
            "the last step is left out: loop over all T steps",
            lambda: list(range(T - 1)),
        ),
        first_left_out=(
            "the first step is left out: loop over all T steps",
            lambda: list(range(1, T)),
        ),
        backwards=(
            "the steps run backwards; the forward pass goes t = 0, 1, ..., T-1",
            lambda: list(range(T))[::-1],
        ),
    )
    h = slip(
        "first state",
        initial_state,
        zeros=(
            "the first step starts from zeros; start from initial_state",
            lambda: np.zeros_like(initial_state),
        ),
    )
    train = slip(
        "train",
        True,
        false=(
            "the steps run with train=False, so the loss is taken on probabilities: cross_entropy "
            "wants the logits (train=True)",
            lambda: False,
        ),
    )
    ys, caches, loss, last = [], [], 0.0, h
    for t in steps:
        y_pred, last, cache = cell_fn_forward(X_train[t], h, model, train=train)
        h = slip(
            "carry",
            last,
            not_carried=(
                "the state is not carried over: feed each step the h the step before returned",
                lambda: initial_state,
            ),
        )
        step_loss = cross_entropy(y_pred, y_train[t])
        step_loss = slip(
            "step loss",
            step_loss,
            batch_sum=(
                "the loss is summed over the batch; cross_entropy already averages over N",
                lambda: step_loss * len(y_pred),  # noqa: B023 - called at once
            ),
        )
        loss = slip(
            "add up",
            loss + step_loss,
            overwritten=(
                "the loss is overwritten at each step: add them up, loss += ...",
                lambda: step_loss,  # noqa: B023 - called at once
            ),
        )
        ys.append(y_pred)
        caches.append(cache)
    loss = slip(
        "loss",
        loss,
        averaged=(
            "the loss is averaged over the steps; rnn_forward returns their sum "
            "(bptt divides by T)",
            lambda: loss / T,
        ),
    )
    last = slip(
        "returned h",
        last,
        initial=(
            "the state returned is initial_state; return the last step's h",
            lambda: initial_state,
        ),
    )
    caches = slip(
        "caches",
        caches,
        last_only=("caches must hold every step's cache: caches.append(cache)", lambda: caches[-1]),
    )
    return last, ys, caches, loss


def cell_fn_backward_slips(y_pred, y_train, dh_next, cache, slip=None):
    """:func:`~rnn_reference.practical.cell_fn_backward` with slips."""
    slip = slip or Slip()
    X, Whh, h, hprev, _, h_cache, (Why, _) = cache
    dy = dcross_entropy(y_pred, y_train)
    dy = slip(
        "dy",
        dy,
        flipped=(
            "dy's sign is flipped: dcross_entropy is (softmax(y) - onehot) / N",
            lambda: -dy,
        ),
        not_averaged=(
            "dy is not divided by N: the loss is the batch's mean (dcross_entropy divides)",
            lambda: dy * len(dy),
        ),
    )
    dh_out = dy @ Why.T
    dWhy = slip(
        "dWhy",
        h.T @ dy,
        transposed=("dWhy is transposed: h.T @ dy, (H, C)", lambda: dy.T @ h),
        previous=(
            "dWhy uses hprev; the readout reads the new state: h.T @ dy",
            lambda: hprev.T @ dy,
        ),
    )
    dby = slip(
        "dby",
        np.sum(dy, axis=0, keepdims=True),
        **batch_sum(dy, "dby", "(1, C)"),
    )
    dh = slip(
        "dh_next",
        dh_out + dh_next,
        dropped=(
            "dh_next (the gradient from step t+1) is not added: dh = dh + dh_next, before the tanh",
            lambda: dh_out,
        ),
        subtracted=("dh_next is subtracted: add it, dh = dh + dh_next", lambda: dh_out - dh_next),
        doubled=("dh_next is added twice: dh = dh + dh_next, once", lambda: dh_out + 2 * dh_next),
    )
    da = slip(
        "tanh derivative",
        dh * (1 - h_cache**2),
        **tanh_derivative(h_cache, dh, "h_cache"),
        dh_next_after=(
            "dh_next is added after the tanh; add it before: tanh_backward(dh + dh_next, h_cache)",
            lambda: dh_out * (1 - h_cache**2) + dh_next,
        ),
    )
    before_tanh = "uses the gradient before the tanh; use tanh_backward's result"
    dWxh = slip(
        "dWxh",
        X.T @ da,
        transposed=("dWxh is transposed: X.T @ dh, (D, H)", lambda: da.T @ X),
        before_tanh=(f"dWxh {before_tanh}", lambda: X.T @ dh),
    )
    dWhh = slip(
        "dWhh",
        hprev.T @ da,
        new_state=(
            "dWhh uses the new state h; it multiplies the previous one: hprev.T @ dh",
            lambda: h.T @ da,
        ),
        transposed=("dWhh is transposed: hprev.T @ dh, not dh.T @ hprev", lambda: da.T @ hprev),
        before_tanh=(f"dWhh {before_tanh}", lambda: hprev.T @ dh),
    )
    dbh = slip(
        "dbh",
        np.sum(da, axis=0, keepdims=True),
        **batch_sum(da, "dbh", "(1, H)"),
        before_tanh=(f"dbh {before_tanh}", lambda: np.sum(dh, axis=0, keepdims=True)),
    )
    dh_prev = slip(
        "dh_prev",
        da @ Whh.T,
        untransposed=("the new dh_next is dh @ Whh.T; Whh is used untransposed", lambda: da @ Whh),
        before_tanh=(f"the new dh_next {before_tanh}: dh @ Whh.T", lambda: dh @ Whh.T),
        unchanged=(
            "the dh_next returned is the one received; return the previous state's, dh @ Whh.T",
            lambda: dh_next,
        ),
    )
    grad = {"Wxh": dWxh, "Whh": dWhh, "Why": dWhy, "bh": dbh, "by": dby}
    return grad, dh_prev


def bptt_slips(model, X_train, y_train, initial_state, slip=None):
    """:func:`~rnn_reference.practical.bptt` (no clipping, no truncation) with slips."""
    slip = slip or Slip()
    last_state, ys, caches, loss = rnn_forward(X_train, y_train, model, initial_state)
    T = len(X_train)
    loss = slip(
        "loss",
        loss / T,
        summed=("bptt returns the loss divided by T (rnn_forward's sum / T)", lambda: loss),
    )
    dh_next = slip(
        "first dh_next",
        np.zeros_like(last_state),
        practical=(
            "dh_next starts as np.zeros((1, N)); it is the state's gradient, (N, H): "
            "np.zeros_like(last_state)",
            lambda: np.zeros((1, last_state.shape[0])),
        ),
    )
    grads = slip(
        "first grads",
        {name: np.zeros_like(model[name]) for name in MODEL_PARAMETER_NAMES},
        model=(
            "grads start from the model's values; start from zeros: np.zeros_like(v)",
            lambda: {name: model[name].copy() for name in MODEL_PARAMETER_NAMES},
        ),
    )
    steps = slip(
        "steps",
        list(range(T))[::-1],
        forwards=("go backwards in time: for t in reversed(range(T))", lambda: list(range(T))),
        first_left_out=(
            "step 0 is left out: reversed(range(T)) runs t = T-1, ..., 0",
            lambda: list(range(1, T))[::-1],
        ),
        last_left_out=(
            "the last step, T-1, is left out: reversed(range(T)) starts there",
            lambda: list(range(T - 1))[::-1],
        ),
    )
    for t in steps:
        grad, dh_prev = cell_fn_backward(ys[t], y_train[t], dh_next, caches[t])
        dh_next = slip(
            "carry",
            dh_prev,
            not_carried=(
                "each step must get the dh_next returned by the step after it: "
                "grad, dh_next = cell_fn_backward(..., dh_next, ...)",
                lambda: dh_next,  # noqa: B023 - called at once
            ),
        )
        for name in grads:
            grads[name] = slip(
                "add up",
                grads[name] + grad[name],
                overwritten=(
                    "add each step's gradient into grads (+=) instead of replacing it",
                    lambda: grad[name],  # noqa: B023 - called at once
                ),
            )
    grads = slip(
        "scale",
        grads,
        divided=(
            "the gradients are divided by T; they are those of the summed loss, undivided",
            lambda: {name: value / T for name, value in grads.items()},
        ),
    )
    clipped = "the gradients are clipped; bptt returns exact gradients (clipping comes later)"
    grads = slip(
        "clip",
        grads,
        elementwise=(clipped, lambda: clip_gradients(grads, "elementwise", 5.0)),
        global_norm=(clipped, lambda: clip_gradients(grads, "global_norm", 5.0)),
    )
    last_state = slip(
        "returned state",
        last_state,
        initial=("return rnn_forward's last state, not initial_state", lambda: initial_state),
    )
    return grads, loss, last_state
