"""The practical's own cells, run under Python 3 against the package (only ``print`` changed)."""

# The practical's reference number comes from numpy's legacy global random stream.
# ruff: noqa: NPY002

from __future__ import annotations

import inspect

import numpy as np
import pytest

import rnn_reference
from rnn_reference import bptt, relative_error, rnn_forward, rnn_gradient_check

CORRECT_FINAL_STATE = np.array([[0.19868001, 0.98286478, 0.76491549, -0.91578737]])


def _initial_state(hidden_dim):
    return np.zeros((1, hidden_dim))


def _init_model(input_dim, hidden_dim, output_dim):
    """The practical's initialisation, slip included: ``Why`` is (H, D), ``by`` is (1, D)."""
    D, H, C = input_dim, hidden_dim, output_dim  # More compact.
    model_params = dict(
        Wxh=np.random.randn(D, H) / np.sqrt(D / 2.0),
        Whh=np.random.randn(H, H) / np.sqrt(H / 2.0),
        Why=np.random.randn(H, D) / np.sqrt(C / 2.0),
        bh=np.zeros((1, H)),
        by=np.zeros((1, D)),
    )
    return model_params


@pytest.fixture
def practical_test_data():
    """Cell [4] of the practical up to the data: seed 1234, input 8, hidden 4, output 2, 5 steps."""
    np.random.seed(1234)
    input_dim = 8
    hidden_dim = 4
    output_dim = 2  # num_classes
    num_steps = 5
    test_mdl = _init_model(input_dim, hidden_dim, output_dim)
    X_test = np.split(np.random.randn(num_steps, input_dim), num_steps, axis=0)
    y_test = np.random.randint(low=0, high=output_dim, size=num_steps).reshape(-1)
    return test_mdl, X_test, y_test, _initial_state(hidden_dim)


def test_practical_forward_cell_reproduces_the_reference_final_state(practical_test_data, capsys):
    test_mdl, X_test, y_test, initial_state = practical_test_data
    last_state, ys, caches, loss = rnn_forward(
        X_test, y_test, test_mdl, initial_state, verbose=True
    )
    diff = relative_error(last_state, CORRECT_FINAL_STATE)
    assert diff <= 2e-8
    assert len(ys) == len(caches) == 5
    assert ys[0].shape == (1, 8)
    assert np.isfinite(loss) and loss > 0
    assert capsys.readouterr().out.count("Time-step: ") == 5


def test_reference_state_needs_the_practicals_why_draw(practical_test_data):
    """Drawing ``Why`` as (H, C) shifts the random stream, and the reference number is lost."""
    np.random.seed(1234)
    D, H, C = 8, 4, 2
    model = dict(
        Wxh=np.random.randn(D, H) / np.sqrt(D / 2.0),
        Whh=np.random.randn(H, H) / np.sqrt(H / 2.0),
        Why=np.random.randn(H, C) / np.sqrt(C / 2.0),
        bh=np.zeros((1, H)),
        by=np.zeros((1, C)),
    )
    X_test = np.split(np.random.randn(5, D), 5, axis=0)
    y_test = np.random.randint(low=0, high=C, size=5).reshape(-1)
    last_state, _, _, _ = rnn_forward(X_test, y_test, model, _initial_state(H))
    assert relative_error(last_state, CORRECT_FINAL_STATE) > 1e-3


def test_practical_gradient_check_cell_passes_for_every_parameter(practical_test_data, capsys):
    test_mdl, X_test, y_test, initial_state = practical_test_data
    before = {name: value.copy() for name, value in test_mdl.items()}
    result = rnn_gradient_check(test_mdl, X_test, y_test, initial_state)
    assert result.passed
    assert [check.name for check in result.checks] == ["Wxh", "Whh", "Why", "bh", "by"]
    assert all(check.worst_relative_error <= 0.01 for check in result.checks)
    assert capsys.readouterr().out == ""  # the table only when asked
    for name, value in before.items():  # the model is restored after perturbing it
        np.testing.assert_array_equal(test_mdl[name], value)


def test_practical_bptt_returns_the_loss_divided_by_the_number_of_steps(practical_test_data):
    test_mdl, X_test, y_test, initial_state = practical_test_data
    _, _, _, summed_loss = rnn_forward(X_test, y_test, test_mdl, initial_state)
    grads, loss, last_state = bptt(test_mdl, X_test, y_test, initial_state)
    assert loss == pytest.approx(summed_loss / 5, rel=1e-15)
    assert relative_error(last_state, CORRECT_FINAL_STATE) <= 2e-8
    assert {name: g.shape for name, g in grads.items()} == {
        name: v.shape for name, v in test_mdl.items()
    }


@pytest.mark.parametrize(
    ("name", "parameters"),
    [
        ("softmax", ["X"]),
        ("cross_entropy", ["y_pred", "y_train"]),
        ("dcross_entropy", ["y_pred", "y_train"]),
        ("fc_forward", ["X", "W", "b"]),
        ("fc_backward", ["dout", "cache"]),
        ("tanh_forward", ["X"]),
        ("tanh_backward", ["dout", "cache"]),
        ("cell_fn_forward", ["X", "h", "model", "train"]),
        ("rnn_forward", ["X_train", "y_train", "model", "initial_state", "verbose"]),
        ("cell_fn_backward", ["y_pred", "y_train", "dh_next", "cache"]),
        ("bptt", ["model", "X_train", "y_train", "initial_state"]),
        ("rnn_gradient_check", ["model", "x", "y", "init_state", "h", "error_threshold"]),
        ("relative_error", ["x", "y"]),
    ],
)
def test_practical_names_keep_their_positional_parameters(name, parameters):
    signature = inspect.signature(getattr(rnn_reference, name))
    positional = [
        p.name
        for p in signature.parameters.values()
        if p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD
    ]
    assert positional[: len(parameters)] == parameters


def test_practical_defaults_are_kept_for_the_gradient_check_and_cell():
    check = inspect.signature(rnn_gradient_check).parameters
    assert check["h"].default == 0.001 and check["error_threshold"].default == 0.01
    assert inspect.signature(rnn_reference.cell_fn_forward).parameters["train"].default is True


def test_cell_forward_in_eval_mode_returns_probabilities(practical_test_data):
    test_mdl, X_test, _, initial_state = practical_test_data
    logits, h, _ = rnn_reference.cell_fn_forward(X_test[0], initial_state, test_mdl, train=True)
    probs, h_eval, _ = rnn_reference.cell_fn_forward(X_test[0], initial_state, test_mdl, False)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0)
    np.testing.assert_allclose(probs, np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True))
    np.testing.assert_array_equal(h, h_eval)
