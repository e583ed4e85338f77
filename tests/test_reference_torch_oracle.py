"""The independent oracle: the numpy cells and classifiers against torch.autograd in float64."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from rnn_reference import (
    CELLS,
    classifier_loss_and_grads,
    hidden_gradient_norms,
    random_classifier_problem,
    relative_error,
)

TOLERANCE = 1e-9
SHAPES = [  # (N, T, D, H, C)
    (1, 1, 1, 1, 2),
    (3, 5, 4, 6, 3),
    (2, 9, 3, 2, 5),
    (4, 3, 7, 5, 10),
]
TORCH_MODULES = {"rnn": torch.nn.RNN, "gru": torch.nn.GRU, "lstm": torch.nn.LSTM}


def _torch_cell(cell: str, params: dict) -> torch.nn.Module:
    H = params["Why"].shape[0]
    D = params["Wxh"].shape[0] if cell == "rnn" else params["weight_ih"].shape[1]
    module = TORCH_MODULES[cell](D, H, batch_first=True, dtype=torch.float64)
    with torch.no_grad():
        for name, value in CELLS[cell].torch_parameters(params).items():
            getattr(module, name).copy_(torch.from_numpy(np.ascontiguousarray(value)))
    return module


def _torch_readout(params: dict) -> torch.nn.Linear:
    H, C = params["Why"].shape
    linear = torch.nn.Linear(H, C, dtype=torch.float64)
    with torch.no_grad():
        linear.weight.copy_(torch.from_numpy(params["Why"].T.copy()))
        linear.bias.copy_(torch.from_numpy(params["by"][0].copy()))
    return linear


def _expected_torch_grads(cell: str, grads: dict) -> dict:
    """The numpy gradients under torch's names and layout."""
    expected = dict(CELLS[cell].torch_parameters(grads))
    if cell == "rnn":  # torch's two biases enter only as their sum bh, so both get dL/dbh
        expected["bias_hh_l0"] = expected["bias_ih_l0"]
    return expected


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "N{}-T{}-D{}-H{}-C{}".format(*s))
@pytest.mark.parametrize("readout", ["last", "every"])
@pytest.mark.parametrize("cell", sorted(CELLS))
def test_classifier_loss_and_every_gradient_equal_torch_autograd(cell, readout, shape):
    N, T, D, H, C = shape
    x, y, params = random_classifier_problem(cell, readout, N, T, D, H, C, seed=sum(shape))
    loss, grads = classifier_loss_and_grads(x, y, params, cell, readout)

    rnn, linear = _torch_cell(cell, params), _torch_readout(params)
    out, _ = rnn(torch.from_numpy(x))
    logits = linear(out[:, -1] if readout == "last" else out).reshape(-1, C)
    torch_loss = torch.nn.functional.cross_entropy(logits, torch.from_numpy(y).reshape(-1))
    torch_loss.backward()

    assert relative_error(loss, torch_loss.item()) <= TOLERANCE
    expected = _expected_torch_grads(cell, grads)
    expected.update({"weight": grads["Why"].T, "bias": grads["by"][0]})
    named = list(rnn.named_parameters()) + list(linear.named_parameters())
    assert {name for name, _ in named} == set(expected)
    for name, parameter in named:
        error = relative_error(expected[name], parameter.grad.numpy())
        assert error <= TOLERANCE, f"{cell} {readout} {shape}: {name} relative error {error:.2e}"


@pytest.mark.parametrize("cell", sorted(CELLS))
def test_sequence_forward_and_backward_equal_torch_from_a_nonzero_initial_state(cell):
    """States, dx, dh0 and the cell's parameter gradients under an arbitrary upstream gradient."""
    N, T, D, H = 3, 6, 4, 5
    _, _, params = random_classifier_problem(cell, "last", N, T, D, H, C=2, seed=11)
    rng = np.random.default_rng(12)
    x, h0, dhs = (
        rng.standard_normal((N, T, D)),
        rng.standard_normal((N, H)),
        rng.standard_normal((N, T, H)),
    )
    c0 = rng.standard_normal((N, H))
    spec = CELLS[cell]
    extra = {"c0": c0} if cell == "lstm" else {}
    hs, cache = spec.sequence_forward(x, h0, params, **extra)
    dx, dh0, dparams = spec.sequence_backward(dhs, cache)

    module = _torch_cell(cell, params)
    x_t = torch.from_numpy(x).requires_grad_()
    h0_t = torch.from_numpy(h0)[None].requires_grad_()
    state = (h0_t, torch.from_numpy(c0)[None]) if cell == "lstm" else h0_t
    out, _ = module(x_t, state)
    out.backward(torch.from_numpy(dhs))

    assert relative_error(hs, out.detach().numpy()) <= TOLERANCE
    assert relative_error(dx, x_t.grad.numpy()) <= TOLERANCE
    assert relative_error(dh0, h0_t.grad[0].numpy()) <= TOLERANCE
    expected = _expected_torch_grads(cell, dparams)
    for name, parameter in module.named_parameters():
        assert relative_error(expected[name], parameter.grad.numpy()) <= TOLERANCE, name


@pytest.mark.parametrize("cell", sorted(CELLS))
def test_hidden_gradient_norms_equal_torch_gradient_of_the_state_fed_into_the_remaining_steps(cell):
    """dL/dh_t is torch's gradient for h0 when the steps after t run from the state at t."""
    N, T, D, H, C = 2, 12, 3, 4, 3
    x, y, params = random_classifier_problem(cell, "last", N, T, D, H, C, seed=5)
    norms = hidden_gradient_norms(x, y, params, cell)
    assert norms.shape == (T,)
    module, linear = _torch_cell(cell, params), _torch_readout(params)
    x_t, y_t = torch.from_numpy(x), torch.from_numpy(y)
    for t in (0, 4, T - 2):  # the state after step t (0-based), then steps t+1..T-1
        with torch.no_grad():
            _, state = module(x_t[:, : t + 1])
        if cell == "lstm":
            h_t, c_t = state[0].clone().requires_grad_(), state[1]
            start = (h_t, c_t)
        else:
            h_t = start = state.clone().requires_grad_()
        out, _ = module(x_t[:, t + 1 :], start)
        torch.nn.functional.cross_entropy(linear(out[:, -1]), y_t).backward()
        assert relative_error(norms[t], h_t.grad.norm().item()) <= TOLERANCE, t
