"""Truncated BPTT: ``bptt(..., truncate_steps=k)`` backpropagates within chunks of k steps.

Every step's loss counts; its gradient reaches back to the start of its chunk only.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from rnn_reference import bptt, init_model, rnn_forward


def _problem(N=2, T=5, D=3, H=4, C=3, seed=0):
    rng = np.random.default_rng(seed)
    model = init_model(D, H, C, rng)
    X = rng.standard_normal((T, N, D))
    y = rng.integers(0, C, size=(T, N))
    h0 = rng.standard_normal((N, H)) * 0.5
    return model, X, y, h0


@pytest.mark.parametrize("k", [5, 6, 100])
def test_truncated_bptt_equals_full_bptt_when_k_covers_the_sequence(k):
    model, X, y, h0 = _problem(T=5)
    full, full_loss, full_state = bptt(model, X, y, h0)
    truncated, loss, state = bptt(model, X, y, h0, truncate_steps=k)
    assert loss == full_loss
    np.testing.assert_array_equal(state, full_state)
    for name in full:
        np.testing.assert_array_equal(truncated[name], full[name])


@pytest.mark.parametrize(("T", "k"), [(5, 1), (5, 2), (6, 3), (7, 4)])
def test_truncated_bptt_is_the_sum_of_full_bptt_over_chunks_started_from_the_state_before(T, k):
    model, X, y, h0 = _problem(T=T)
    expected = {name: np.zeros_like(value) for name, value in model.items()}
    for start in range(0, T, k):
        h_before = h0 if start == 0 else rnn_forward(X[:start], y[:start], model, h0)[0]
        chunk, _, _ = bptt(model, X[start : start + k], y[start : start + k], h_before)
        for name in expected:
            expected[name] += chunk[name]
    truncated, loss, state = bptt(model, X, y, h0, truncate_steps=k)
    full, full_loss, full_state = bptt(model, X, y, h0)
    assert loss == full_loss  # the loss still counts every step
    np.testing.assert_array_equal(state, full_state)
    for name in expected:
        np.testing.assert_allclose(truncated[name], expected[name], rtol=1e-12, atol=1e-15)
    assert any(not np.allclose(truncated[n], full[n]) for n in full)
    # the readout's gradients see every step's loss, truncated or not
    for name in ("Why", "by"):
        np.testing.assert_allclose(truncated[name], full[name], rtol=1e-12, atol=1e-15)


def test_nested_chunks_recover_more_of_the_full_gradient_as_k_grows():
    """With k dividing 2k, every path a k-chunk keeps, a 2k-chunk keeps too."""
    model, X, y, h0 = _problem(N=4, T=32, D=3, H=8, C=5, seed=1)
    full, _, _ = bptt(model, X, y, h0)
    errors = []
    for k in (1, 2, 4, 8, 16, 32):
        truncated, _, _ = bptt(model, X, y, h0, truncate_steps=k)
        errors.append(np.linalg.norm(truncated["Whh"] - full["Whh"]) / np.linalg.norm(full["Whh"]))
    assert errors[-1] == 0
    assert all(a > b for a, b in zip(errors, errors[1:], strict=False)), errors


def _softmax(z):
    e = [math.exp(v - max(z)) for v in z]
    return [v / sum(e) for v in e]


def test_truncated_bptt_matches_the_hand_derived_gradient_of_a_scalar_rnn_with_two_steps():
    """T = 2, D = H = 1, C = 2, N = 1, written out by hand.

    h1 = tanh(u h0 + a x1 + b), h2 = tanh(u h1 + a x2 + b); L = L1 + L2 with
    L_t = CE(h_t Why + by, y_t). With g_t = dL_t/dh_t = sum_c (p_tc - [c = y_t]) Why_c and
    s_t = 1 - h_t^2, full BPTT gives
        dL/du = g1 s1 h0 + g2 s2 (h1 + u s1 h0),  dL/da = g1 s1 x1 + g2 s2 (x2 + u s1 x1),
        dL/db = g1 s1 + g2 s2 (1 + u s1),          dL/dWhy_c = sum_t h_t (p_tc - [c = y_t]),
    and k = 1 makes each step a chunk: each loss reaches its own step only, h0 and h1 held fixed:
        dL/du = g1 s1 h0 + g2 s2 h1, dL/da = g1 s1 x1 + g2 s2 x2, dL/db = g1 s1 + g2 s2,
    and the readout's gradients dL/dWhy, dL/dby are the full ones.
    """
    a, u, b, h0 = 0.7, -1.3, 0.2, 0.4
    w, v = [0.9, -0.6], [0.1, -0.2]  # Why row and by
    x1, x2, y1, y2 = 0.5, -1.1, 0, 1
    model = {
        "Wxh": np.array([[a]]),
        "Whh": np.array([[u]]),
        "bh": np.array([[b]]),
        "Why": np.array([w]),
        "by": np.array([v]),
    }
    X = [np.array([[x1]]), np.array([[x2]])]
    y = np.array([y1, y2])

    h1 = math.tanh(u * h0 + a * x1 + b)
    h2 = math.tanh(u * h1 + a * x2 + b)
    e1 = [p - (c == y1) for c, p in enumerate(_softmax([h1 * w[c] + v[c] for c in range(2)]))]
    e2 = [p - (c == y2) for c, p in enumerate(_softmax([h2 * w[c] + v[c] for c in range(2)]))]
    g1 = sum(e * wc for e, wc in zip(e1, w, strict=True))
    g2 = sum(e * wc for e, wc in zip(e2, w, strict=True))
    s1, s2 = 1 - h1**2, 1 - h2**2

    full = {
        "Whh": g1 * s1 * h0 + g2 * s2 * (h1 + u * s1 * h0),
        "Wxh": g1 * s1 * x1 + g2 * s2 * (x2 + u * s1 * x1),
        "bh": g1 * s1 + g2 * s2 * (1 + u * s1),
        "Why": [h1 * e1[c] + h2 * e2[c] for c in range(2)],
        "by": [e1[c] + e2[c] for c in range(2)],
    }
    truncated = {
        "Whh": g1 * s1 * h0 + g2 * s2 * h1,
        "Wxh": g1 * s1 * x1 + g2 * s2 * x2,
        "bh": g1 * s1 + g2 * s2,
        "Why": full["Why"],
        "by": full["by"],
    }
    full_grads, _, _ = bptt(model, X, y, np.array([[h0]]))
    truncated_grads, _, _ = bptt(model, X, y, np.array([[h0]]), truncate_steps=1)
    for name in full:
        np.testing.assert_allclose(full_grads[name].ravel(), np.ravel(full[name]), rtol=1e-12)
        np.testing.assert_allclose(
            truncated_grads[name].ravel(), np.ravel(truncated[name]), rtol=1e-12
        )
    assert abs(full["Whh"] - truncated["Whh"]) > 0.01  # the case really tells them apart


@pytest.mark.parametrize("k", [0, -1, 2.5, True, "3"])
def test_bptt_rejects_a_truncation_that_is_not_a_positive_int(k):
    model, X, y, h0 = _problem(T=3)
    with pytest.raises(ValueError, match="truncate_steps must be None or an int >= 1"):
        bptt(model, X, y, h0, truncate_steps=k)
