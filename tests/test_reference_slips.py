"""The practical's slips, fixed: mini-batches, shapes, the 0/0 of the gradient check, clipping."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from rnn_reference import (
    bptt,
    clip_gradients,
    elementwise_relative_error,
    gradient_check,
    init_model,
    relative_error,
    rnn_forward,
    rnn_gradient_check,
)


def _batch_problem(N, T, D, H, C, seed=0, scale=1.0):
    rng = np.random.default_rng(seed)
    model = init_model(D, H, C, rng)
    model["Why"] *= scale
    X = rng.standard_normal((T, N, D))
    y = rng.integers(0, C, size=(T, N))
    return model, X, y, np.zeros((N, H))


def test_bptt_gradients_are_right_for_a_batch_as_large_as_the_hidden_size():
    """With N = H the practical's (1, N) ``dh_next`` broadcasts against (N, H) to wrong values."""
    model, X, y, h0 = _batch_problem(N=3, T=4, D=2, H=3, C=4)
    result = rnn_gradient_check(model, X, y, h0, h=1e-5, error_threshold=1e-6)
    assert result.passed, result.table()


def test_bptt_gradients_are_right_for_a_batch_of_another_size():
    """With N != H the practical's ``dh_next`` and ``dbh`` shapes raised a broadcasting error."""
    model, X, y, h0 = _batch_problem(N=5, T=3, D=2, H=3, C=2, seed=1)
    grads, _, last_state = bptt(model, X, y, h0)
    assert grads["bh"].shape == (1, 3) and last_state.shape == (5, 3)
    assert rnn_gradient_check(model, X, y, h0, h=1e-5, error_threshold=1e-6).passed


def test_init_model_draws_output_weights_with_one_column_per_class():
    model = init_model(D=8, H=4, C=2, rng=0)
    shapes = {name: value.shape for name, value in model.items()}
    assert shapes == {"Wxh": (8, 4), "Whh": (4, 4), "Why": (4, 2), "bh": (1, 4), "by": (1, 2)}
    np.testing.assert_array_equal(model["by"], 0.0)
    again = init_model(8, 4, 2, rng=0)
    assert all(np.array_equal(model[name], again[name]) for name in model)


def test_relative_error_of_two_zero_gradients_is_zero_not_nan():
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a 0/0 would warn
        errors = elementwise_relative_error(np.zeros(3), np.zeros(3))
        assert relative_error(np.zeros((2, 2)), np.zeros((2, 2))) == 0.0
    np.testing.assert_array_equal(errors, 0.0)


def test_gradient_check_reports_zero_error_where_an_input_feature_is_always_zero():
    """Rows of dWxh for a dead input are exactly 0 both ways: the practical got nan there."""
    model, X, y, h0 = _batch_problem(N=1, T=3, D=3, H=2, C=2, seed=2)
    X[:, :, 0] = 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = rnn_gradient_check(model, X, y, h0)
    assert result.passed
    assert np.isfinite(result.worst_relative_error)
    grads, _, _ = bptt(model, X, y, h0)
    np.testing.assert_array_equal(grads["Wxh"][0], 0.0)


def test_bptt_does_not_clip_by_default_so_the_gradient_check_compares_like_with_like():
    model, X, y, h0 = _batch_problem(N=1, T=3, D=2, H=3, C=3, seed=3, scale=20.0)
    exact, _, _ = bptt(model, X, y, h0)
    assert np.max(np.abs(exact["bh"])) > 5.0  # large enough that the practical's clip bites
    assert rnn_gradient_check(model, X, y, h0, h=1e-4, error_threshold=1e-5).passed

    clipped, _, _ = bptt(model, X, y, h0, clip="elementwise")

    def loss():
        return rnn_forward(X, y, model, h0)[3]

    result = gradient_check(loss, model, clipped, h=1e-4, error_threshold=1e-5)
    assert not result.passed and "bh" in result.failed and "Why" not in result.failed


def test_elementwise_clipping_bounds_each_entry_like_the_practical():
    grads = {"a": np.array([[-7.0, 0.5, 6.0]]), "b": np.array([4.0, -5.5])}
    clipped = clip_gradients(grads, "elementwise", 5.0)
    np.testing.assert_array_equal(clipped["a"], [[-5.0, 0.5, 5.0]])
    np.testing.assert_array_equal(clipped["b"], [4.0, -5.0])


def test_global_norm_clipping_rescales_all_gradients_together_and_keeps_their_direction():
    grads = {"a": np.array([[3.0, 0.0]]), "b": np.array([0.0, 4.0])}  # global norm 5
    clipped = clip_gradients(grads, "global_norm", 2.5)
    np.testing.assert_allclose(clipped["a"], [[1.5, 0.0]])
    np.testing.assert_allclose(clipped["b"], [0.0, 2.0])
    unchanged = clip_gradients(grads, "global_norm", 5.0)
    assert all(np.array_equal(unchanged[k], grads[k]) for k in grads)


def test_bptt_applies_the_clipping_it_is_asked_for():
    model, X, y, h0 = _batch_problem(N=2, T=3, D=2, H=3, C=3, seed=4, scale=20.0)
    exact, loss, _ = bptt(model, X, y, h0)
    for method in ("elementwise", "global_norm"):
        clipped, clipped_loss, _ = bptt(model, X, y, h0, clip=method, clip_value=5.0)
        expected = clip_gradients(exact, method, 5.0)
        assert clipped_loss == loss
        for name in exact:
            np.testing.assert_allclose(clipped[name], expected[name], rtol=1e-12)
    norm = np.sqrt(sum(np.sum(g**2) for g in clipped.values()))
    assert norm == pytest.approx(5.0)


@pytest.mark.parametrize("clip", ["norm", "ELEMENTWISE", 5.0])
def test_bptt_rejects_an_unknown_clipping_method_by_name(clip):
    model, X, y, h0 = _batch_problem(N=1, T=2, D=2, H=2, C=2)
    with pytest.raises(ValueError, match="clip must be one of"):
        bptt(model, X, y, h0, clip=clip)


def test_rnn_forward_names_the_model_array_with_a_wrong_shape():
    model, X, y, h0 = _batch_problem(N=1, T=2, D=2, H=3, C=2)
    model["by"] = np.zeros((1, 5))
    with pytest.raises(ValueError, match=r"model\['by'\] must have shape \(1, 2\)"):
        rnn_forward(X, y, model, h0)


def test_rnn_forward_names_the_step_whose_input_has_the_wrong_width():
    model, X, y, h0 = _batch_problem(N=1, T=2, D=2, H=3, C=2)
    X = [X[0], np.zeros((1, 4))]
    with pytest.raises(ValueError, match=r"X_train\[1\] must have shape"):
        rnn_forward(X, y, model, h0)


def test_rnn_forward_rejects_labels_for_a_different_number_of_steps():
    model, X, y, h0 = _batch_problem(N=1, T=3, D=2, H=3, C=2)
    with pytest.raises(ValueError, match="y_train has 2"):
        rnn_forward(X, y[:2], model, h0)
