"""The independent oracle: the numpy cells and classifiers against torch.autograd in float64."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import rnn_reference.rnn_cell
from rnn_reference import (
    CELLS,
    classifier_loss_and_grads,
    hidden_gradient_norms,
    random_classifier_problem,
    relative_error,
)
from rnn_reference.torch_oracle import (
    ORACLE_SHAPES,
    ORACLE_TOLERANCE,
    grads_as_torch,
    grads_from_torch,
    oracle_errors,
    torch_cell,
    torch_classifier_loss_and_grads,
    torch_readout,
)

TOLERANCE = ORACLE_TOLERANCE
SHAPES = ORACLE_SHAPES  # (N, T, D, H, C)
SHAPE_IDS = "N{}-T{}-D{}-H{}-C{}".format


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: SHAPE_IDS(*s))
@pytest.mark.parametrize("readout", ["last", "every"])
@pytest.mark.parametrize("cell", sorted(CELLS))
def test_classifier_loss_and_every_gradient_equal_torch_autograd(cell, readout, shape):
    N, T, D, H, C = shape
    x, y, params = random_classifier_problem(cell, readout, N, T, D, H, C, seed=sum(shape))
    loss, grads = classifier_loss_and_grads(x, y, params, cell, readout)

    rnn, linear = torch_cell(cell, params), torch_readout(params)
    out, _ = rnn(torch.from_numpy(x))
    logits = linear(out[:, -1] if readout == "last" else out).reshape(-1, C)
    torch_loss = torch.nn.functional.cross_entropy(logits, torch.from_numpy(y).reshape(-1))
    torch_loss.backward()

    assert relative_error(loss, torch_loss.item()) <= TOLERANCE
    expected = grads_as_torch(cell, grads)
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

    module = torch_cell(cell, params)
    x_t = torch.from_numpy(x).requires_grad_()
    h0_t = torch.from_numpy(h0)[None].requires_grad_()
    state = (h0_t, torch.from_numpy(c0)[None]) if cell == "lstm" else h0_t
    out, _ = module(x_t, state)
    out.backward(torch.from_numpy(dhs))

    assert relative_error(hs, out.detach().numpy()) <= TOLERANCE
    assert relative_error(dx, x_t.grad.numpy()) <= TOLERANCE
    assert relative_error(dh0, h0_t.grad[0].numpy()) <= TOLERANCE
    expected = grads_as_torch(cell, dparams)
    for name, parameter in module.named_parameters():
        assert relative_error(expected[name], parameter.grad.numpy()) <= TOLERANCE, name


@pytest.mark.parametrize("cell", sorted(CELLS))
def test_hidden_gradient_norms_equal_torch_gradient_of_the_state_fed_into_the_remaining_steps(cell):
    """dL/dh_t is torch's gradient for h0 when the steps after t run from the state at t."""
    N, T, D, H, C = 2, 12, 3, 4, 3
    x, y, params = random_classifier_problem(cell, "last", N, T, D, H, C, seed=5)
    norms = hidden_gradient_norms(x, y, params, cell)
    assert norms.shape == (T,)
    module, linear = torch_cell(cell, params), torch_readout(params)
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


@pytest.mark.parametrize("readout", ["last", "every"])
@pytest.mark.parametrize("cell", sorted(CELLS))
def test_torch_classifier_gradients_come_back_under_the_numpy_names_and_shapes(cell, readout):
    x, y, params = random_classifier_problem(cell, readout, N=3, T=4, D=2, H=5, C=3, seed=7)
    loss, grads = classifier_loss_and_grads(x, y, params, cell, readout)
    torch_loss, torch_grads = torch_classifier_loss_and_grads(x, y, params, cell, readout)
    assert relative_error(loss, torch_loss) <= TOLERANCE
    assert set(torch_grads) == set(params)
    for name, grad in grads.items():
        assert torch_grads[name].shape == params[name].shape, name
        assert relative_error(grad, torch_grads[name]) <= TOLERANCE, name


@pytest.mark.parametrize("cell", sorted(CELLS))
def test_grads_from_torch_undoes_grads_as_torch(cell):
    _, _, params = random_classifier_problem(cell, "last", N=1, T=1, D=2, H=3, C=4, seed=3)
    rng = np.random.default_rng(4)
    grads = {name: rng.standard_normal(value.shape) for name, value in params.items()}
    back = grads_from_torch(cell, grads_as_torch(cell, grads))
    assert set(back) == set(grads)
    for name, grad in grads.items():
        np.testing.assert_array_equal(back[name], grad, err_msg=name)


@pytest.mark.parametrize("cell", sorted(CELLS))
def test_oracle_errors_cover_the_loss_and_every_parameter_within_the_tolerance(cell):
    errors = oracle_errors(cell, "every", (2, 3, 4, 5, 3), seed=1)
    expected_names = {"loss", "Why", "by", *CELLS[cell].parameter_names}
    assert set(errors) == expected_names
    assert max(errors.values()) <= TOLERANCE, errors


def test_oracle_errors_name_the_parameters_a_broken_numpy_backward_gets_wrong(monkeypatch):
    monkeypatch.setattr(rnn_reference.rnn_cell, "tanh_backward", lambda dout, cache: dout)
    errors = oracle_errors("rnn", "last", (3, 5, 4, 6, 3), seed=0)
    assert min(errors["Wxh"], errors["Whh"], errors["bh"]) > 1e-3, errors
    assert max(errors["loss"], errors["Why"], errors["by"]) <= TOLERANCE, errors


@pytest.mark.parametrize(
    "cell, readout, message",
    [("transformer", "last", "cell must be one of"), ("gru", "first", "readout must be one of")],
)
def test_torch_classifier_rejects_an_unknown_cell_or_readout(cell, readout, message):
    x, y, params = random_classifier_problem("gru", "last", seed=0)
    with pytest.raises(ValueError, match=message):
        torch_classifier_loss_and_grads(x, y, params, cell, readout)


def test_oracle_errors_rejects_a_shape_without_five_sizes():
    with pytest.raises(ValueError, match=r"shape must be \(N, T, D, H, C\)"):
        oracle_errors("rnn", "last", (2, 3, 4), seed=0)
