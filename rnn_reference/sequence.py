"""Unrolling a single-state cell (vanilla RNN, GRU) over a sequence, forward and backward.

Shape legend: N batch, T steps, D input, H hidden.

A *step* pair has the contract ``step_forward(x, h_prev, params) -> (h, cache)`` and
``step_backward(dh, cache) -> (dx, dh_prev, dparams)``; these two functions turn it into the
sequence pair ``(x, h0, params) -> (hs, cache)`` and ``(dhs, cache) -> (dx, dh0, dparams)``.
The LSTM carries two states and has its own loop in :mod:`rnn_reference.lstm`.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def check_sequence_input(x: np.ndarray, h0: np.ndarray, input_size: int, hidden_size: int):
    """Raise ``ValueError`` unless ``x`` is (N, T, D) and ``h0`` is (N, H) for this cell."""
    if x.ndim != 3 or x.shape[2] != input_size or x.shape[1] < 1:
        raise ValueError(
            f"x must have shape (N, T, D) with T >= 1 and D = {input_size}; got {x.shape}"
        )
    if h0.shape != (x.shape[0], hidden_size):
        raise ValueError(f"h0 must have shape (N, H) = {(x.shape[0], hidden_size)}; got {h0.shape}")


def add_into(total: dict, grads: dict) -> None:
    """Add each array of ``grads`` into the same-named array of ``total`` (in place)."""
    for name, value in grads.items():
        total[name] += value


def sequence_forward(step_forward: Callable, x: np.ndarray, h0: np.ndarray, params: dict):
    """Run ``step_forward`` over the T steps of ``x``.

    Args:
        step_forward: ``(x_t (N, D), h_prev (N, H), params) -> (h_t (N, H), cache)``.
        x: (N, T, D) inputs.
        h0: (N, H) initial state.
        params: the cell's parameters.

    Returns:
        hs: (N, T, H) the states h_1..h_T; cache: for :func:`sequence_backward`.
    """
    N, T, _ = x.shape
    hs = np.empty((N, T, h0.shape[1]))
    caches = []
    h = h0
    for t in range(T):
        h, step_cache = step_forward(x[:, t], h, params)
        hs[:, t] = h
        caches.append(step_cache)
    return hs, (caches, params, x.shape)


def sequence_backward(
    step_backward: Callable, dhs: np.ndarray, cache, return_hidden_grads: bool = False
):
    """Backpropagation through time over the steps cached by :func:`sequence_forward`.

    Args:
        step_backward: ``(dh_t (N, H), step_cache) -> (dx_t (N, D), dh_prev (N, H), dparams)``.
        dhs: (N, T, H) gradient of the loss with respect to each *output* h_t (the direct part:
            zero where a step has no readout).
        cache: from :func:`sequence_forward`.
        return_hidden_grads: also return the total gradient dL/dh_t of every step.

    Returns:
        dx: (N, T, D); dh0: (N, H); dparams: same names and shapes as ``params``; and, when
        ``return_hidden_grads``, dh_total: (N, T, H) with dh_total[:, t] = dL/dh_{t+1}.
    """
    caches, params, x_shape = cache
    dx = np.empty(x_shape)
    dparams = {name: np.zeros_like(value) for name, value in params.items()}
    dh_total = np.empty_like(dhs)
    dh_next = np.zeros_like(dhs[:, 0])
    for t in reversed(range(len(caches))):
        dh_total[:, t] = dhs[:, t] + dh_next
        dx[:, t], dh_next, dstep = step_backward(dh_total[:, t], caches[t])
        add_into(dparams, dstep)
    if return_hidden_grads:
        return dx, dh_next, dparams, dh_total
    return dx, dh_next, dparams
