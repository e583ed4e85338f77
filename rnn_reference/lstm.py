"""The long short-term memory cell (LSTM) in PyTorch's form and gate order, step and sequence.

Shape legend: N batch, T steps, D input, H hidden.

Gate order i (input), f (forget), g (candidate), o (output), exactly as ``torch.nn.LSTM``::

    i_t = sigmoid(x_t W_ii^T + b_ii + h_{t-1} W_hi^T + b_hi)
    f_t = sigmoid(x_t W_if^T + b_if + h_{t-1} W_hf^T + b_hf)
    g_t = tanh(x_t W_ig^T + b_ig + h_{t-1} W_hg^T + b_hg)
    o_t = sigmoid(x_t W_io^T + b_io + h_{t-1} W_ho^T + b_ho)
    c_t = f_t * c_{t-1} + i_t * g_t
    h_t = o_t * tanh(c_t)

(The practical's BasicLSTM, with g written as tilde-h; no peepholes, no projection.)

Parameters, with torch's names and shapes (``torch.nn.LSTM`` adds the suffix ``_l0``):
``weight_ih`` (4H, D) = [W_ii; W_if; W_ig; W_io], ``weight_hh`` (4H, H) = [W_hi; W_hf; W_hg; W_ho],
``bias_ih`` (4H,), ``bias_hh`` (4H,), in the same gate order.
"""

from __future__ import annotations

import numpy as np

from rnn_reference.layers import sigmoid
from rnn_reference.sequence import add_into, check_sequence_input

LSTM_PARAMETER_NAMES = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")


def lstm_init_params(D: int, H: int, rng=None) -> dict:
    """PyTorch's default initialisation: every entry uniform in [-1/sqrt(H), 1/sqrt(H)].

    Args:
        D: input size. H: hidden size. rng: a ``numpy.random.Generator`` or a seed.

    Returns:
        ``weight_ih`` (4H, D), ``weight_hh`` (4H, H), ``bias_ih`` (4H,), ``bias_hh`` (4H,).
    """
    rng = np.random.default_rng(rng)
    bound = 1.0 / np.sqrt(H)
    shapes = {
        "weight_ih": (4 * H, D),
        "weight_hh": (4 * H, H),
        "bias_ih": (4 * H,),
        "bias_hh": (4 * H,),
    }
    return {name: rng.uniform(-bound, bound, shape) for name, shape in shapes.items()}


def lstm_step_forward(x: np.ndarray, h_prev: np.ndarray, c_prev: np.ndarray, params: dict):
    """One LSTM step (equations in the module docstring).

    Args:
        x: (N, D) input. h_prev: (N, H) previous state. c_prev: (N, H) previous memory.
        params: ``weight_ih`` (4H, D), ``weight_hh`` (4H, H), ``bias_ih`` (4H,), ``bias_hh`` (4H,).

    Returns:
        h: (N, H) new state; c: (N, H) new memory; cache: for :func:`lstm_step_backward`.
    """
    H = h_prev.shape[1]
    a = x @ params["weight_ih"].T + params["bias_ih"] + h_prev @ params["weight_hh"].T
    a += params["bias_hh"]  # (N, 4H) pre-activations of i, f, g, o
    i = sigmoid(a[:, :H])
    f = sigmoid(a[:, H : 2 * H])
    g = np.tanh(a[:, 2 * H : 3 * H])
    o = sigmoid(a[:, 3 * H :])
    c = f * c_prev + i * g
    tanh_c = np.tanh(c)
    h = o * tanh_c
    return h, c, (x, h_prev, c_prev, i, f, g, o, tanh_c, params)


def lstm_step_backward(dh: np.ndarray, dc: np.ndarray, cache):
    """Backward pass of :func:`lstm_step_forward`.

    Args:
        dh: (N, H) total gradient of the loss with respect to the new state h.
        dc: (N, H) gradient with respect to the new memory c arriving from the next step
            (not counting the path through h, which this function adds).
        cache: from :func:`lstm_step_forward`.

    Returns:
        dx: (N, D); dh_prev: (N, H); dc_prev: (N, H); dparams: the four parameters' gradients.
    """
    x, h_prev, c_prev, i, f, g, o, tanh_c, params = cache
    dc_total = dc + dh * o * (1.0 - tanh_c**2)
    da = np.concatenate(
        [
            dc_total * g * i * (1.0 - i),
            dc_total * c_prev * f * (1.0 - f),
            dc_total * i * (1.0 - g**2),
            dh * tanh_c * o * (1.0 - o),
        ],
        axis=1,
    )  # (N, 4H) gradient with respect to the gates' pre-activations
    db = da.sum(axis=0)
    dparams = {
        "weight_ih": da.T @ x,
        "weight_hh": da.T @ h_prev,
        "bias_ih": db,
        "bias_hh": db.copy(),
    }
    return da @ params["weight_ih"], da @ params["weight_hh"], dc_total * f, dparams


def lstm_sequence_forward(
    x: np.ndarray, h0: np.ndarray, params: dict, c0: np.ndarray | None = None
):
    """Run the LSTM over a sequence.

    Args:
        x: (N, T, D) inputs. h0: (N, H) initial state.
        params: the four LSTM parameters (other keys are ignored).
        c0: (N, H) initial memory; zeros when omitted.

    Returns:
        hs: (N, T, H) states h_1..h_T; cache: for :func:`lstm_sequence_backward`.
    """
    four_h, D = params["weight_ih"].shape
    check_sequence_input(x, h0, D, four_h // 4)
    cell_params = {name: params[name] for name in LSTM_PARAMETER_NAMES}
    c = np.zeros_like(h0) if c0 is None else c0
    if c.shape != h0.shape:
        raise ValueError(f"c0 must have the shape of h0, {h0.shape}; got {c.shape}")
    N, T, _ = x.shape
    hs = np.empty((N, T, h0.shape[1]))
    caches = []
    h = h0
    for t in range(T):
        h, c, step_cache = lstm_step_forward(x[:, t], h, c, cell_params)
        hs[:, t] = h
        caches.append(step_cache)
    return hs, (caches, cell_params, x.shape)


def lstm_sequence_backward(dhs: np.ndarray, cache, return_hidden_grads: bool = False):
    """BPTT for :func:`lstm_sequence_forward`.

    Args:
        dhs: (N, T, H) gradient of the loss with respect to the returned states (the loss is
            taken not to depend on the final memory c_T directly).
        cache: from :func:`lstm_sequence_forward`.
        return_hidden_grads: also return dL/dh_t, (N, T, H) (c_t held fixed).

    Returns:
        dx: (N, T, D); dh0: (N, H); dparams: the four parameters' gradients
        [; dh_total: (N, T, H)]. The gradient with respect to c0 is not returned.
    """
    caches, params, x_shape = cache
    dx = np.empty(x_shape)
    dparams = {name: np.zeros_like(value) for name, value in params.items()}
    dh_total = np.empty_like(dhs)
    dh_next = np.zeros_like(dhs[:, 0])
    dc_next = np.zeros_like(dh_next)
    for t in reversed(range(len(caches))):
        dh_total[:, t] = dhs[:, t] + dh_next
        dx[:, t], dh_next, dc_next, dstep = lstm_step_backward(dh_total[:, t], dc_next, caches[t])
        add_into(dparams, dstep)
    if return_hidden_grads:
        return dx, dh_next, dparams, dh_total
    return dx, dh_next, dparams


def lstm_torch_parameters(params: dict) -> dict:
    """The arrays to load into ``torch.nn.LSTM(D, H)``, by name: the same arrays, suffixed ``_l0``.

    Args:
        params: the four LSTM parameters.

    Returns:
        ``weight_ih_l0`` (4H, D), ``weight_hh_l0`` (4H, H), ``bias_ih_l0`` (4H,), ``bias_hh_l0``.
    """
    return {f"{name}_l0": params[name] for name in LSTM_PARAMETER_NAMES}
