"""The independent oracle: the same classifier built from ``torch.nn`` modules, in float64.

Shape legend: N batch, T steps, D input, H hidden, C classes.

    torch.nn.RNN / GRU / LSTM(D, H, batch_first=True)  ->  torch.nn.Linear(H, C)
    ->  torch.nn.functional.cross_entropy (mean over N rows, or N*T for readout "every")

Only the modules and the name/layout mapping live here; the gradients come from
``torch.autograd``, never from the numpy code. Name mapping (numpy -> torch):

    rnn:        Wxh (D, H) -> weight_ih_l0 (H, D) = Wxh.T;  Whh (H, H) -> weight_hh_l0 = Whh.T;
                bh (1, H) -> bias_ih_l0 (H,), and bias_hh_l0 (H,) = 0 (torch's two biases only
                ever appear as a sum, so both receive dL/dbh)
    gru, lstm:  name -> name + "_l0", same layout (the numpy cells use torch's gate order)
    readout:    Why (H, C) -> weight (C, H) = Why.T;  by (1, C) -> bias (C,) = by[0]
"""

from __future__ import annotations

import numpy as np
import torch

from rnn_reference.classifier import (
    READOUTS,
    Cell,
    classifier_loss_and_grads,
    get_cell,
    random_classifier_problem,
)
from rnn_reference.gradient_check import relative_error

ORACLE_TOLERANCE = 1e-9
ORACLE_SHAPES = (  # (N, T, D, H, C): one step and unit, and unequal D, H, C to catch transposes
    (1, 1, 1, 1, 2),
    (3, 5, 4, 6, 3),
    (2, 9, 3, 2, 5),
    (4, 3, 7, 5, 10),
)
TORCH_MODULES = {"rnn": torch.nn.RNN, "gru": torch.nn.GRU, "lstm": torch.nn.LSTM}


def torch_cell(cell: str | Cell, params: dict) -> torch.nn.Module:
    """``torch.nn.RNN/GRU/LSTM(D, H, batch_first=True)`` in float64 holding the cell's parameters.

    Args:
        cell: ``"rnn"``, ``"gru"`` or ``"lstm"``.
        params: the cell's parameters (see :data:`~rnn_reference.classifier.CELLS`) plus
            ``Why`` (H, C), which gives H.

    Returns:
        The module; it takes x (N, T, D) and returns (hs (N, T, H), final state).
    """
    cell = get_cell(cell)
    H = params["Why"].shape[0]
    D = params["Wxh"].shape[0] if cell.name == "rnn" else params["weight_ih"].shape[1]
    module = TORCH_MODULES[cell.name](D, H, batch_first=True, dtype=torch.float64)
    with torch.no_grad():
        for name, value in cell.torch_parameters(params).items():
            getattr(module, name).copy_(torch.from_numpy(np.ascontiguousarray(value)))
    return module


def torch_readout(params: dict) -> torch.nn.Linear:
    """``torch.nn.Linear(H, C)`` in float64: ``weight = Why.T`` (C, H), ``bias = by[0]`` (C,).

    Args:
        params: holds ``Why`` (H, C) and ``by`` (1, C).
    """
    H, C = params["Why"].shape
    linear = torch.nn.Linear(H, C, dtype=torch.float64)
    with torch.no_grad():
        linear.weight.copy_(torch.from_numpy(params["Why"].T.copy()))
        linear.bias.copy_(torch.from_numpy(params["by"][0].copy()))
    return linear


def grads_as_torch(cell: str | Cell, grads: dict) -> dict:
    """Numpy gradients under the torch modules' parameter names and layout.

    Args:
        cell: ``"rnn"``, ``"gru"`` or ``"lstm"``.
        grads: the cell's gradients (same names and shapes as its parameters); ``Why`` (H, C)
            and ``by`` (1, C) are mapped too when present.

    Returns:
        ``{torch name: array}``: the cell's ``*_l0`` names (for the RNN, ``bias_hh_l0`` gets
        dL/dbh too) [and ``weight`` (C, H), ``bias`` (C,) for the readout].
    """
    cell = get_cell(cell)
    cell_grads = {name: grads[name] for name in cell.parameter_names}
    expected = dict(cell.torch_parameters(cell_grads))
    if cell.name == "rnn":  # torch's two biases enter only as their sum bh, so both get dL/dbh
        expected["bias_hh_l0"] = expected["bias_ih_l0"]
    if "Why" in grads:
        expected.update(weight=grads["Why"].T, bias=grads["by"][0])
    return expected


def grads_from_torch(cell: str | Cell, torch_grads: dict) -> dict:
    """Torch gradients (by parameter name) under the numpy names and layout.

    Args:
        cell: ``"rnn"``, ``"gru"`` or ``"lstm"``.
        torch_grads: ``{torch name: array}`` for the cell module [and the readout's
            ``weight`` (C, H), ``bias`` (C,)].

    Returns:
        The numpy names and shapes: for the RNN ``Wxh`` (D, H), ``Whh`` (H, H), ``bh`` (1, H)
        (taken from ``bias_ih_l0``; ``bias_hh_l0`` carries the same gradient); for GRU/LSTM the
        names without ``_l0``; [``Why`` (H, C), ``by`` (1, C)].
    """
    cell = get_cell(cell)
    if cell.name == "rnn":
        grads = {
            "Wxh": torch_grads["weight_ih_l0"].T,
            "Whh": torch_grads["weight_hh_l0"].T,
            "bh": torch_grads["bias_ih_l0"].reshape(1, -1),
        }
    else:
        grads = {name: torch_grads[f"{name}_l0"] for name in cell.parameter_names}
    if "weight" in torch_grads:
        grads.update(Why=torch_grads["weight"].T, by=torch_grads["bias"].reshape(1, -1))
    return grads


def torch_classifier_loss_and_grads(
    x: np.ndarray, y: np.ndarray, params: dict, cell: str | Cell, readout: str = "last"
):
    """The classifier's loss and gradients computed by ``torch.autograd`` in float64.

    Args:
        x: (N, T, D) inputs. y: (N,) labels for ``readout="last"``, (N, T) for ``"every"``.
        params: the cell's parameters plus ``Why`` (H, C) and ``by`` (1, C).
        cell: ``"rnn"``, ``"gru"`` or ``"lstm"``. readout: ``"last"`` or ``"every"``.

    Returns:
        loss: float; grads: torch's gradients under the numpy names and shapes (see
        :func:`grads_from_torch`).
    """
    cell = get_cell(cell)
    if readout not in READOUTS:
        raise ValueError(f"readout must be one of {READOUTS}; got {readout!r}")
    rnn, linear = torch_cell(cell, params), torch_readout(params)
    C = params["Why"].shape[1]
    out, _ = rnn(torch.from_numpy(np.asarray(x, dtype=np.float64)))
    logits = linear(out[:, -1] if readout == "last" else out).reshape(-1, C)
    labels = torch.from_numpy(np.asarray(y, dtype=np.int64)).reshape(-1)
    loss = torch.nn.functional.cross_entropy(logits, labels)
    loss.backward()
    named = list(rnn.named_parameters()) + list(linear.named_parameters())
    return loss.item(), grads_from_torch(cell, {n: p.grad.numpy() for n, p in named})


def oracle_errors(cell: str | Cell, readout: str, shape: tuple, seed: int) -> dict:
    """Relative errors of the numpy classifier against torch on one random problem.

    Args:
        cell: ``"rnn"``, ``"gru"`` or ``"lstm"``. readout: ``"last"`` or ``"every"``.
        shape: (N, T, D, H, C) of :func:`~rnn_reference.classifier.random_classifier_problem`.
        seed: its seed.

    Returns:
        ``{"loss": error, <each parameter name>: error}``, each the largest element-wise
        relative error ``|a - b| / max(1e-8, |a| + |b|)``.
    """
    if len(shape) != 5:
        raise ValueError(f"shape must be (N, T, D, H, C); got {shape!r}")
    x, y, params = random_classifier_problem(cell, readout, *shape, seed=seed)
    loss, grads = classifier_loss_and_grads(x, y, params, cell, readout)
    torch_loss, torch_grads = torch_classifier_loss_and_grads(x, y, params, cell, readout)
    errors = {"loss": relative_error(loss, torch_loss)}
    for name, grad in grads.items():
        if grad.shape != torch_grads[name].shape:  # relative_error would broadcast them
            raise ValueError(f"{name}: numpy {grad.shape} but torch {torch_grads[name].shape}")
        errors[name] = relative_error(grad, torch_grads[name])
    return errors
