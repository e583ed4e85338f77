"""How far the loss's gradient reaches back in time: ||dL/dh_t|| for every step t.

Shape legend: N batch, T steps, D input, H hidden, C classes.

With the loss on the last step only, dL/dh_t for t < T exists only through the recurrence,
so its norm against t shows vanishing (or exploding) gradients: a vanilla RNN's decays
geometrically with the distance T - t; gated cells whose carry-over gates start open
(see :func:`add_gate_bias`) keep it far longer.
"""

from __future__ import annotations

import numpy as np

from rnn_reference.classifier import (
    CELLS,
    Cell,
    classifier_backward,
    classifier_forward,
    init_classifier_params,
)


def hidden_gradient_norms(
    x: np.ndarray, y: np.ndarray, params: dict, cell: str | Cell
) -> np.ndarray:
    """``||dL/dh_t||`` for t = 1..T, where L is the classifier's last-step loss.

    Args:
        x: (N, T, D) inputs. y: (N,) labels. params: the classifier's parameters.
        cell: ``"rnn"``, ``"gru"`` or ``"lstm"``.

    Returns:
        (T,) the Frobenius norm over (N, H) of dL/dh_t (for the LSTM, with c_t held fixed).
    """
    _, cache = classifier_forward(x, y, params, cell, readout="last")
    _, dh_total = classifier_backward(cache, return_hidden_grads=True)
    return np.sqrt(np.sum(dh_total**2, axis=(0, 2)))


def add_gate_bias(params: dict, cell: str, gate_bias: float) -> dict:
    """A copy of ``params`` with ``gate_bias`` added to the gates that carry the state over.

    The LSTM's forget gate f, and the GRU's reset and update gates r and z: what TensorFlow's
    ``BasicLSTMCell`` (``forget_bias=1.0``) and ``GRUCell`` (gate bias 1.0), the practical's
    cells, start from. The vanilla RNN has no gates and is returned unchanged.

    Args:
        params: a classifier's parameters. cell: ``"rnn"``, ``"gru"`` or ``"lstm"``.
        gate_bias: the amount added (0 keeps PyTorch's default initialisation).

    Returns:
        The new parameter dict (``params`` is not modified).
    """
    params = {name: value.copy() for name, value in params.items()}
    if cell == "gru":
        H = params["weight_hh"].shape[1]
        params["bias_ih"][: 2 * H] += gate_bias
    elif cell == "lstm":
        H = params["weight_hh"].shape[1]
        params["bias_ih"][H : 2 * H] += gate_bias
    return params


def long_sequence_gradient_norms(
    T: int = 200, D: int = 4, H: int = 32, C: int = 10, seed: int = 0, gate_bias: float = 1.0
) -> dict:
    """:func:`hidden_gradient_norms` for every cell on the same random sequence.

    One standard-normal sequence x (1, T, D) and one label are drawn from ``seed``; each
    cell's classifier is initialised (PyTorch's defaults) from the same ``seed``, then
    ``gate_bias`` is added as :func:`add_gate_bias` describes.

    Args:
        T: sequence length. D: input size. H: hidden size. C: classes. seed: the seed.
        gate_bias: added to the gated cells' carry-over gates (1.0, as in the practical's
            TensorFlow cells; 0.0 for PyTorch's defaults).

    Returns:
        ``{cell name: (T,) norms}`` for ``"rnn"``, ``"gru"``, ``"lstm"``.
    """
    for name, value in {"T": T, "D": D, "H": H, "C": C}.items():
        if not isinstance(value, int | np.integer) or value < 1:
            raise ValueError(f"{name} must be an int >= 1; got {value!r}")
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((1, T, D))
    y = rng.integers(0, C, size=1)
    norms = {}
    for name in CELLS:
        params = add_gate_bias(init_classifier_params(name, D, H, C, seed), name, gate_bias)
        norms[name] = hidden_gradient_norms(x, y, params, name)
    return norms
