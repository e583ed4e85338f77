"""The gated recurrent unit (GRU) in PyTorch's form and gate order, step and sequence.

Shape legend: N batch, T steps, D input, H hidden.

Gate order r (reset), z (update), n (new), exactly as ``torch.nn.GRU``::

    r_t = sigmoid(x_t W_ir^T + b_ir + h_{t-1} W_hr^T + b_hr)
    z_t = sigmoid(x_t W_iz^T + b_iz + h_{t-1} W_hz^T + b_hz)
    n_t = tanh(x_t W_in^T + b_in + r_t * (h_{t-1} W_hn^T + b_hn))
    h_t = (1 - z_t) * n_t + z_t * h_{t-1}

This is PyTorch's (and cuDNN's) variant: the reset gate multiplies ``W_hn h_{t-1} + b_hn``
*after* the matrix product. Cho et al. (2014), and the practical's equation
``n_t = tanh(W (r_t * h_{t-1}) + U x_t + b)``, apply r *before* it; the two are different
functions of the same weights.

Parameters, with torch's names and shapes (``torch.nn.GRU`` adds the suffix ``_l0``):
``weight_ih`` (3H, D) = [W_ir; W_iz; W_in], ``weight_hh`` (3H, H) = [W_hr; W_hz; W_hn],
``bias_ih`` (3H,) = [b_ir; b_iz; b_in], ``bias_hh`` (3H,) = [b_hr; b_hz; b_hn].
"""

from __future__ import annotations

import numpy as np

from rnn_reference.layers import sigmoid
from rnn_reference.sequence import check_sequence_input, sequence_backward, sequence_forward

GRU_PARAMETER_NAMES = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")


def gru_init_params(D: int, H: int, rng=None) -> dict:
    """PyTorch's default initialisation: every entry uniform in [-1/sqrt(H), 1/sqrt(H)].

    Args:
        D: input size. H: hidden size. rng: a ``numpy.random.Generator`` or a seed.

    Returns:
        ``weight_ih`` (3H, D), ``weight_hh`` (3H, H), ``bias_ih`` (3H,), ``bias_hh`` (3H,).
    """
    rng = np.random.default_rng(rng)
    bound = 1.0 / np.sqrt(H)
    shapes = {
        "weight_ih": (3 * H, D),
        "weight_hh": (3 * H, H),
        "bias_ih": (3 * H,),
        "bias_hh": (3 * H,),
    }
    return {name: rng.uniform(-bound, bound, shape) for name, shape in shapes.items()}


def gru_step_forward(x: np.ndarray, h_prev: np.ndarray, params: dict):
    """One GRU step (equations in the module docstring).

    Args:
        x: (N, D) input. h_prev: (N, H) previous state.
        params: ``weight_ih`` (3H, D), ``weight_hh`` (3H, H), ``bias_ih`` (3H,), ``bias_hh`` (3H,).

    Returns:
        h: (N, H) new state; cache: for :func:`gru_step_backward`.
    """
    H = h_prev.shape[1]
    gi = x @ params["weight_ih"].T + params["bias_ih"]  # (N, 3H): input parts of r, z, n
    gh = h_prev @ params["weight_hh"].T + params["bias_hh"]  # (N, 3H): hidden parts
    r = sigmoid(gi[:, :H] + gh[:, :H])
    z = sigmoid(gi[:, H : 2 * H] + gh[:, H : 2 * H])
    hn = gh[:, 2 * H :]
    n = np.tanh(gi[:, 2 * H :] + r * hn)
    h = (1.0 - z) * n + z * h_prev
    return h, (x, h_prev, r, z, n, hn, params)


def gru_step_backward(dh: np.ndarray, cache):
    """Backward pass of :func:`gru_step_forward`.

    Args:
        dh: (N, H) total gradient of the loss with respect to the new state h.
        cache: from :func:`gru_step_forward`.

    Returns:
        dx: (N, D); dh_prev: (N, H); dparams: the four parameters' gradients, same shapes.
    """
    x, h_prev, r, z, n, hn, params = cache
    dn = dh * (1.0 - z)
    dz = dh * (h_prev - n)
    dn_pre = dn * (1.0 - n**2)  # gradient with respect to n's tanh argument
    dr = dn_pre * hn
    dr_pre = dr * r * (1.0 - r)
    dz_pre = dz * z * (1.0 - z)
    dgi = np.concatenate([dr_pre, dz_pre, dn_pre], axis=1)  # (N, 3H)
    dgh = np.concatenate([dr_pre, dz_pre, dn_pre * r], axis=1)  # (N, 3H)
    dparams = {
        "weight_ih": dgi.T @ x,
        "weight_hh": dgh.T @ h_prev,
        "bias_ih": dgi.sum(axis=0),
        "bias_hh": dgh.sum(axis=0),
    }
    dx = dgi @ params["weight_ih"]
    dh_prev = dh * z + dgh @ params["weight_hh"]
    return dx, dh_prev, dparams


def gru_sequence_forward(x: np.ndarray, h0: np.ndarray, params: dict):
    """Run the GRU over a sequence.

    Args:
        x: (N, T, D) inputs. h0: (N, H) initial state.
        params: the four GRU parameters (other keys are ignored).

    Returns:
        hs: (N, T, H) states h_1..h_T; cache: for :func:`gru_sequence_backward`.
    """
    three_h, D = params["weight_ih"].shape
    check_sequence_input(x, h0, D, three_h // 3)
    cell_params = {name: params[name] for name in GRU_PARAMETER_NAMES}
    return sequence_forward(gru_step_forward, x, h0, cell_params)


def gru_sequence_backward(dhs: np.ndarray, cache, return_hidden_grads: bool = False):
    """BPTT for :func:`gru_sequence_forward`.

    Args:
        dhs: (N, T, H) gradient of the loss with respect to the returned states.
        cache: from :func:`gru_sequence_forward`.
        return_hidden_grads: also return dL/dh_t, (N, T, H).

    Returns:
        dx: (N, T, D); dh0: (N, H); dparams: the four parameters' gradients
        [; dh_total: (N, T, H)].
    """
    return sequence_backward(gru_step_backward, dhs, cache, return_hidden_grads)


def gru_torch_parameters(params: dict) -> dict:
    """The arrays to load into ``torch.nn.GRU(D, H)``, by name: the same arrays, suffixed ``_l0``.

    Args:
        params: the four GRU parameters.

    Returns:
        ``weight_ih_l0`` (3H, D), ``weight_hh_l0`` (3H, H), ``bias_ih_l0`` (3H,), ``bias_hh_l0``.
    """
    return {f"{name}_l0": params[name] for name in GRU_PARAMETER_NAMES}
