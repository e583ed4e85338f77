"""A sequence classifier over any of the three cells: cell -> linear readout -> cross-entropy.

Shape legend: N batch, T steps, D input, H hidden, C classes.

    hs = cell(x, h0 = 0)                                   # (N, T, H)
    readout "last":  logits = hs[:, T-1] Why + by           # (N, C),    y: (N,) labels
    readout "every": logits[n, t] = hs[n, t] Why + by       # (N, T, C), y: (N, T) labels
    loss = mean cross-entropy over all logits rows          # N rows, or N*T rows

This is ``torch.nn.RNN/GRU/LSTM(D, H, batch_first=True)`` followed by ``torch.nn.Linear(H, C)``
(``weight = Why.T``, ``bias = by[0]``) and ``torch.nn.functional.cross_entropy`` with its
default mean reduction. Parameters: the cell's (see :data:`CELLS`) plus ``Why`` (H, C) and
``by`` (1, C).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from rnn_reference.gradient_check import GradientCheckResult, gradient_check
from rnn_reference.gru import (
    GRU_PARAMETER_NAMES,
    gru_init_params,
    gru_sequence_backward,
    gru_sequence_forward,
    gru_torch_parameters,
)
from rnn_reference.layers import cross_entropy, dcross_entropy, fc_backward, fc_forward
from rnn_reference.lstm import (
    LSTM_PARAMETER_NAMES,
    lstm_init_params,
    lstm_sequence_backward,
    lstm_sequence_forward,
    lstm_torch_parameters,
)
from rnn_reference.rnn_cell import (
    RNN_PARAMETER_NAMES,
    rnn_init_params,
    rnn_sequence_backward,
    rnn_sequence_forward,
    rnn_torch_parameters,
)

READOUTS = ("last", "every")


@dataclass(frozen=True)
class Cell:
    """One recurrent cell's functions, so the classifier is written once for all three.

    Attributes:
        name: ``"rnn"``, ``"gru"`` or ``"lstm"``.
        parameter_names: the cell's parameter names.
        init_params: ``(D, H, rng) -> params``.
        sequence_forward: ``(x (N, T, D), h0 (N, H), params) -> (hs (N, T, H), cache)``.
        sequence_backward: ``(dhs, cache, return_hidden_grads) -> (dx, dh0, dparams[, dh_total])``.
        torch_parameters: ``params -> {torch parameter name: array}`` for the torch module.
    """

    name: str
    parameter_names: tuple
    init_params: Callable
    sequence_forward: Callable
    sequence_backward: Callable
    torch_parameters: Callable


CELLS = {
    "rnn": Cell(
        "rnn",
        RNN_PARAMETER_NAMES,
        rnn_init_params,
        rnn_sequence_forward,
        rnn_sequence_backward,
        rnn_torch_parameters,
    ),
    "gru": Cell(
        "gru",
        GRU_PARAMETER_NAMES,
        gru_init_params,
        gru_sequence_forward,
        gru_sequence_backward,
        gru_torch_parameters,
    ),
    "lstm": Cell(
        "lstm",
        LSTM_PARAMETER_NAMES,
        lstm_init_params,
        lstm_sequence_forward,
        lstm_sequence_backward,
        lstm_torch_parameters,
    ),
}


def get_cell(cell: str | Cell) -> Cell:
    """The :class:`Cell` named ``cell`` (a :class:`Cell` is returned as it is)."""
    if isinstance(cell, Cell):
        return cell
    if cell not in CELLS:
        raise ValueError(f"cell must be one of {sorted(CELLS)}; got {cell!r}")
    return CELLS[cell]


def init_classifier_params(cell: str | Cell, D: int, H: int, C: int, rng=None) -> dict:
    """The cell's PyTorch-default initialisation plus a readout uniform in [-1/sqrt(H), 1/sqrt(H)].

    Args:
        cell: ``"rnn"``, ``"gru"`` or ``"lstm"``. D: input size. H: hidden size.
        C: number of classes. rng: a ``numpy.random.Generator`` or a seed.

    Returns:
        The cell's parameters plus ``Why`` (H, C) and ``by`` (1, C).
    """
    cell = get_cell(cell)
    rng = np.random.default_rng(rng)
    params = cell.init_params(D, H, rng)
    bound = 1.0 / np.sqrt(H)
    params["Why"] = rng.uniform(-bound, bound, (H, C))
    params["by"] = rng.uniform(-bound, bound, (1, C))
    return params


def random_classifier_problem(
    cell: str | Cell,
    readout: str = "last",
    N: int = 2,
    T: int = 4,
    D: int = 3,
    H: int = 5,
    C: int = 3,
    seed: int = 0,
):
    """A small random problem: standard-normal inputs, uniform labels, initialised parameters.

    Args:
        cell: ``"rnn"``, ``"gru"`` or ``"lstm"``. readout: ``"last"`` or ``"every"``.
        N, T, D, H, C: batch, steps, input, hidden and classes (each >= 1). seed: the seed.

    Returns:
        x: (N, T, D); y: (N,) or (N, T) labels; params: from :func:`init_classifier_params`.
    """
    cell = get_cell(cell)
    if readout not in READOUTS:
        raise ValueError(f"readout must be one of {READOUTS}; got {readout!r}")
    for name, value in {"N": N, "T": T, "D": D, "H": H, "C": C}.items():
        if not isinstance(value, int | np.integer) or value < 1:
            raise ValueError(f"{name} must be an int >= 1; got {value!r}")
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((N, T, D))
    y = rng.integers(0, C, size=(N,) if readout == "last" else (N, T))
    return x, y, init_classifier_params(cell, D, H, C, rng)


def _check_labels(y: np.ndarray, x: np.ndarray, C: int, readout: str) -> None:
    expected = x.shape[:1] if readout == "last" else x.shape[:2]
    y = np.asarray(y)
    if y.shape != expected or not np.issubdtype(y.dtype, np.integer):
        raise ValueError(
            f"y must be integer labels of shape {expected} for readout={readout!r}; "
            f"got {y.dtype} {y.shape}"
        )
    if y.size and (y.min() < 0 or y.max() >= C):
        raise ValueError(f"y's labels must lie in [0, {C}); got {y.min()}..{y.max()}")


def classifier_forward(
    x: np.ndarray, y: np.ndarray, params: dict, cell: str | Cell, readout: str = "last"
):
    """The classifier's loss.

    Args:
        x: (N, T, D) inputs. y: (N,) labels for ``readout="last"``, (N, T) for ``"every"``.
        params: the cell's parameters plus ``Why`` (H, C) and ``by`` (1, C).
        cell: ``"rnn"``, ``"gru"`` or ``"lstm"``. readout: ``"last"`` or ``"every"``.

    Returns:
        loss: the mean cross-entropy; cache: for :func:`classifier_backward`.
    """
    cell = get_cell(cell)
    if readout not in READOUTS:
        raise ValueError(f"readout must be one of {READOUTS}; got {readout!r}")
    x = np.asarray(x)
    if x.ndim != 3:
        raise ValueError(f"x must have shape (N, T, D); got {x.shape}")
    H, C = params["Why"].shape
    _check_labels(y, x, C, readout)
    N, T, _ = x.shape
    hs, seq_cache = cell.sequence_forward(x, np.zeros((N, H)), params)
    read = hs[:, -1] if readout == "last" else hs.reshape(N * T, H)
    logits, fc_cache = fc_forward(read, params["Why"], params["by"])
    labels = np.asarray(y).reshape(-1)
    loss = cross_entropy(logits, labels)
    return loss, (cell, readout, hs.shape, seq_cache, fc_cache, logits, labels)


def classifier_backward(cache, return_hidden_grads: bool = False):
    """Gradients of :func:`classifier_forward`'s loss.

    Args:
        cache: from :func:`classifier_forward`.
        return_hidden_grads: also return dL/dh_t for every step.

    Returns:
        grads: same names and shapes as ``params`` [; dh_total: (N, T, H)].
    """
    cell, readout, hs_shape, seq_cache, fc_cache, logits, labels = cache
    dread, dWhy, dby = fc_backward(dcross_entropy(logits, labels), fc_cache)
    if readout == "last":
        dhs = np.zeros(hs_shape)
        dhs[:, -1] = dread
    else:
        dhs = dread.reshape(hs_shape)
    _, _, dparams, *hidden = cell.sequence_backward(dhs, seq_cache, return_hidden_grads)
    grads = dict(dparams, Why=dWhy, by=dby.reshape(1, -1))
    return (grads, hidden[0]) if return_hidden_grads else grads


def classifier_loss_and_grads(
    x: np.ndarray, y: np.ndarray, params: dict, cell: str | Cell, readout: str = "last"
):
    """``(loss, grads)`` of the classifier (arguments as :func:`classifier_forward`)."""
    loss, cache = classifier_forward(x, y, params, cell, readout)
    return loss, classifier_backward(cache)


def classifier_gradient_check(
    x: np.ndarray,
    y: np.ndarray,
    params: dict,
    cell: str | Cell,
    readout: str = "last",
    h: float = 1e-5,
    error_threshold: float = 1e-5,
    verbose: bool = False,
) -> GradientCheckResult:
    """Check the classifier's analytic gradients against central differences of its loss.

    Args:
        x, y, params, cell, readout: as :func:`classifier_forward` (``params`` is perturbed in
            place and restored). h: finite-difference step.
        error_threshold: largest element-wise relative error that passes.
        verbose: print the per-parameter table.

    Returns:
        A :class:`~rnn_reference.gradient_check.GradientCheckResult`.
    """
    _, grads = classifier_loss_and_grads(x, y, params, cell, readout)

    def loss() -> float:
        return classifier_forward(x, y, params, cell, readout)[0]

    result = gradient_check(loss, params, grads, h=h, error_threshold=error_threshold)
    if verbose:
        print(result.table())
    return result
