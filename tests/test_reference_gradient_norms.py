"""||dL/dh_t|| against t: its last value, its decay in a vanilla RNN, and the gated cells."""

from __future__ import annotations

import numpy as np
import pytest

from rnn_reference import (
    CELLS,
    add_gate_bias,
    classifier_forward,
    hidden_gradient_norms,
    long_sequence_gradient_norms,
    random_classifier_problem,
)


@pytest.mark.parametrize("cell", sorted(CELLS))
def test_last_norm_is_the_readouts_gradient_with_respect_to_the_final_state(cell):
    N, T, C = 3, 6, 4
    x, y, params = random_classifier_problem(cell, "last", N, T, D=2, H=5, C=C, seed=3)
    _, cache = classifier_forward(x, y, params, cell, readout="last")
    logits = cache[-2]
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    dlogits = (probs - np.eye(C)[y]) / N  # mean cross-entropy
    expected = np.linalg.norm(dlogits @ params["Why"].T)
    norms = hidden_gradient_norms(x, y, params, cell)
    assert norms[-1] == pytest.approx(expected, rel=1e-12)


def test_vanilla_rnn_gradient_norms_vanish_over_a_hundred_steps():
    norms = long_sequence_gradient_norms(T=100, seed=0)["rnn"]
    assert norms.shape == (100,)
    assert np.all(norms > 0)
    assert norms[0] < 1e-15 * norms[-1]
    # geometric decay: every 10 steps back lose at least a factor of 10
    assert np.all(norms[:-10:10] < 0.1 * norms[10::10])


def test_gated_cells_with_open_carry_gates_keep_far_more_gradient_than_the_rnn():
    norms = long_sequence_gradient_norms(T=100, seed=0, gate_bias=1.0)
    for cell in ("gru", "lstm"):
        assert norms[cell][0] > 1e6 * norms["rnn"][0], cell


def test_gate_bias_shifts_only_the_carry_over_gates_and_leaves_the_input_untouched():
    H = 3
    for cell, gates in (("gru", slice(0, 2 * H)), ("lstm", slice(H, 2 * H))):
        _, _, params = random_classifier_problem(cell, "last", H=H, seed=0)
        shifted = add_gate_bias(params, cell, 1.0)
        difference = shifted["bias_ih"] - params["bias_ih"]
        expected = np.zeros_like(difference)
        expected[gates] = 1.0
        np.testing.assert_allclose(difference, expected, atol=1e-15)
        assert all(np.array_equal(shifted[n], params[n]) for n in params if n != "bias_ih")
    _, _, rnn_params = random_classifier_problem("rnn", "last", seed=0)
    shifted = add_gate_bias(rnn_params, "rnn", 1.0)
    assert all(np.array_equal(shifted[n], rnn_params[n]) for n in rnn_params)


def test_long_sequence_norms_reject_a_nonpositive_length_by_name():
    with pytest.raises(ValueError, match="T must be an int >= 1"):
        long_sequence_gradient_norms(T=0)
