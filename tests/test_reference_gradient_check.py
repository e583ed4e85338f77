"""The gradient check reports per parameter, catches a broken backward pass, and passes for all."""

from __future__ import annotations

import numpy as np
import pytest

import rnn_reference.practical
from rnn_reference import (
    CELLS,
    classifier_gradient_check,
    gradient_check,
    init_model,
    random_classifier_problem,
    rnn_gradient_check,
)


def _practical_problem(seed=0):
    rng = np.random.default_rng(seed)
    model = init_model(4, 3, 2, rng)
    X = rng.standard_normal((5, 1, 4))
    y = rng.integers(0, 2, size=5)
    return model, X, y, np.zeros((1, 3))


def test_gradient_check_fails_and_names_the_parameters_when_tanh_derivative_is_dropped(
    monkeypatch,
):
    model, X, y, h0 = _practical_problem()
    monkeypatch.setattr(rnn_reference.practical, "tanh_backward", lambda dout, cache: dout)
    result = rnn_gradient_check(model, X, y, h0)
    assert not result.passed
    # The readout's gradients do not pass through tanh; the recurrence's all do.
    assert result.failed == ["Wxh", "Whh", "bh"]
    assert result["Why"].passed and result["by"].passed
    assert result["Whh"].worst_relative_error > 0.01
    assert "FAILED: Wxh, Whh, bh" in result.table()


def test_gradient_check_result_reports_worst_error_index_and_both_gradients():
    model, X, y, h0 = _practical_problem(seed=1)
    result = rnn_gradient_check(model, X, y, h0)
    assert result.passed
    for check in result.checks:
        assert check.size == model[check.name].size
        assert len(check.worst_index) == model[check.name].ndim
        assert check.worst_relative_error == pytest.approx(
            abs(check.analytic - check.numeric)
            / max(1e-8, abs(check.analytic) + abs(check.numeric))
        )
    assert result.worst_relative_error == max(c.worst_relative_error for c in result.checks)
    with pytest.raises(KeyError, match="no parameter named 'W'"):
        result["W"]


def test_gradient_check_prints_its_table_only_when_verbose(capsys):
    model, X, y, h0 = _practical_problem()
    rnn_gradient_check(model, X, y, h0)
    assert capsys.readouterr().out == ""
    result = rnn_gradient_check(model, X, y, h0, verbose=True)
    out = capsys.readouterr().out
    assert out.strip() == result.table()
    assert all(name in out for name in model) and "PASSED" in out


def test_gradient_check_finds_a_wrong_entry_and_reports_where():
    params = {"w": np.array([1.0, -2.0, 3.0])}
    grads = {"w": np.array([2.0, -4.0, 5.0])}  # d/dw sum(w^2) is 2w: entry 2 is wrong

    def loss():
        return float(np.sum(params["w"] ** 2))

    result = gradient_check(loss, params, grads)
    assert not result.passed and result.failed == ["w"]
    assert result["w"].worst_index == (2,)
    assert result["w"].numeric == pytest.approx(6.0)
    np.testing.assert_array_equal(params["w"], [1.0, -2.0, 3.0])


def test_gradient_check_rejects_a_gradient_of_the_wrong_shape_by_name():
    params = {"w": np.zeros(3)}
    with pytest.raises(ValueError, match="gradient of 'w' has shape"):
        gradient_check(lambda: 0.0, params, {"w": np.zeros(4)})


@pytest.mark.parametrize("cell", sorted(CELLS))
@pytest.mark.parametrize("readout", ["last", "every"])
def test_numeric_gradient_check_passes_for_every_cell_and_readout(cell, readout):
    x, y, params = random_classifier_problem(cell, readout, N=2, T=4, D=3, H=4, C=3, seed=7)
    result = classifier_gradient_check(x, y, params, cell, readout)
    assert result.passed, result.table()
    assert {c.name for c in result.checks} == set(CELLS[cell].parameter_names) | {"Why", "by"}
