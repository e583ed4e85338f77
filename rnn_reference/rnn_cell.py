"""The vanilla (Elman) RNN cell in the practical's layout, step and sequence.

Shape legend: N batch, T steps, D input, H hidden.

    h_t = tanh(h_{t-1} Whh + x_t Wxh + bh)

Parameters (the practical's names and layout, row vectors on the left):
``Wxh`` (D, H), ``Whh`` (H, H), ``bh`` (1, H). ``torch.nn.RNN`` computes the same thing with
``weight_ih_l0 = Wxh.T``, ``weight_hh_l0 = Whh.T`` and ``bias_ih_l0 + bias_hh_l0 = bh``
(see :func:`rnn_torch_parameters`).
"""

from __future__ import annotations

import numpy as np

from rnn_reference.layers import tanh_backward, tanh_forward
from rnn_reference.sequence import check_sequence_input, sequence_backward, sequence_forward

RNN_PARAMETER_NAMES = ("Wxh", "Whh", "bh")


def rnn_init_params(D: int, H: int, rng=None) -> dict:
    """PyTorch's default initialisation: every entry uniform in [-1/sqrt(H), 1/sqrt(H)].

    Args:
        D: input size. H: hidden size. rng: a ``numpy.random.Generator`` or a seed.

    Returns:
        ``{"Wxh": (D, H), "Whh": (H, H), "bh": (1, H)}``.
    """
    rng = np.random.default_rng(rng)
    bound = 1.0 / np.sqrt(H)
    shapes = {"Wxh": (D, H), "Whh": (H, H), "bh": (1, H)}
    return {name: rng.uniform(-bound, bound, shape) for name, shape in shapes.items()}


def rnn_step_forward(x: np.ndarray, h_prev: np.ndarray, params: dict):
    """One step ``h = tanh(h_prev Whh + x Wxh + bh)``.

    Args:
        x: (N, D) input. h_prev: (N, H) previous state.
        params: ``Wxh`` (D, H), ``Whh`` (H, H), ``bh`` (1, H); other keys are ignored.

    Returns:
        h: (N, H) new state; cache: for :func:`rnn_step_backward`.
    """
    Wxh, Whh, bh = params["Wxh"], params["Whh"], params["bh"]
    # The practical's order of terms, so its reference number comes out bit for bit.
    h, tanh_cache = tanh_forward(np.dot(h_prev, Whh) + np.dot(x, Wxh) + bh)
    return h, (x, h_prev, Wxh, Whh, tanh_cache)


def rnn_step_backward(dh: np.ndarray, cache):
    """Backward pass of :func:`rnn_step_forward`.

    Args:
        dh: (N, H) total gradient of the loss with respect to the new state h.
        cache: from :func:`rnn_step_forward`.

    Returns:
        dx: (N, D); dh_prev: (N, H); dparams: ``Wxh`` (D, H), ``Whh`` (H, H), ``bh`` (1, H).
    """
    x, h_prev, Wxh, Whh, tanh_cache = cache
    da = tanh_backward(dh, tanh_cache)
    dparams = {
        "Wxh": np.dot(x.T, da),
        "Whh": np.dot(h_prev.T, da),
        # Summed over the batch (the practical's ``dbh = dh`` only works for N = 1).
        "bh": np.sum(da, axis=0, keepdims=True),
    }
    return np.dot(da, Wxh.T), np.dot(da, Whh.T), dparams


def rnn_sequence_forward(x: np.ndarray, h0: np.ndarray, params: dict):
    """Run the RNN over a sequence.

    Args:
        x: (N, T, D) inputs. h0: (N, H) initial state.
        params: ``Wxh`` (D, H), ``Whh`` (H, H), ``bh`` (1, H).

    Returns:
        hs: (N, T, H) states h_1..h_T; cache: for :func:`rnn_sequence_backward`.
    """
    check_sequence_input(x, h0, *params["Wxh"].shape)
    cell_params = {name: params[name] for name in RNN_PARAMETER_NAMES}
    return sequence_forward(rnn_step_forward, x, h0, cell_params)


def rnn_sequence_backward(dhs: np.ndarray, cache, return_hidden_grads: bool = False):
    """BPTT for :func:`rnn_sequence_forward`.

    Args:
        dhs: (N, T, H) gradient of the loss with respect to the returned states.
        cache: from :func:`rnn_sequence_forward`.
        return_hidden_grads: also return dL/dh_t, (N, T, H).

    Returns:
        dx: (N, T, D); dh0: (N, H); dparams: ``Wxh``, ``Whh``, ``bh``
        [; dh_total: (N, T, H)].
    """
    return sequence_backward(rnn_step_backward, dhs, cache, return_hidden_grads)


def rnn_torch_parameters(params: dict) -> dict:
    """The arrays to load into ``torch.nn.RNN(D, H)`` (``nonlinearity="tanh"``), by name.

    Args:
        params: ``Wxh`` (D, H), ``Whh`` (H, H), ``bh`` (1, H).

    Returns:
        ``weight_ih_l0`` (H, D), ``weight_hh_l0`` (H, H), ``bias_ih_l0`` (H,) = bh and
        ``bias_hh_l0`` (H,) = 0 (torch has two biases that only ever appear as a sum).
    """
    return {
        "weight_ih_l0": params["Wxh"].T,
        "weight_hh_l0": params["Whh"].T,
        "bias_ih_l0": params["bh"].reshape(-1),
        "bias_hh_l0": np.zeros(params["bh"].size),
    }
