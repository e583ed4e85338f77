"""A numpy reference for recurrent networks: the practical's RNN, BPTT and gradient check,
plus GRU and LSTM cells, all checked against ``torch.autograd``.

Shape legend: N batch, T steps, D input, H hidden, C classes.

Modules: :mod:`~rnn_reference.layers` (softmax, cross-entropy, linear, tanh),
:mod:`~rnn_reference.practical` (the practical's vanilla-RNN API),
:mod:`~rnn_reference.rnn_cell`, :mod:`~rnn_reference.gru`, :mod:`~rnn_reference.lstm`
(one cell each: step and sequence forward/backward), :mod:`~rnn_reference.classifier`
(any cell + linear readout + cross-entropy), :mod:`~rnn_reference.gradient_check`,
:mod:`~rnn_reference.gradient_norms` (||dL/dh_t|| against t),
:mod:`~rnn_reference.torch_oracle` (the same classifier from ``torch.nn`` modules, to compare;
imported on its own so the numpy reference loads without torch), :mod:`~rnn_reference.checks`
(checkers for a learner's own versions of the practical's functions, used by the notebooks;
imported on its own; the machinery is in :mod:`~rnn_reference.checking`),
:mod:`~rnn_reference.exercises` (the notebooks' exercise cells: the learner's function when
finished, else the reference, saying so) and :mod:`~rnn_reference.torch_checks` (checks of
notebook 3's PyTorch exercises; imports torch).

Differences from the practical
------------------------------
The practical's names, signatures and numbers are kept (its own cells run unchanged under
Python 3, and its reference final state comes out), except for these slips, fixed here:

1. **``dh_next`` had the wrong shape in ``bptt``**: ``np.zeros((1, last_state.shape[0]))`` is
   (1, N), not (N, H); it only worked for N = 1 through broadcasting. It is now
   ``np.zeros_like(last_state)``. Likewise ``cell_fn_backward``'s ``dbh = dh`` is now summed
   over the batch, so mini-batches (N > 1) get correct gradients.
2. **``Why`` was drawn as (H, D)** (and ``by`` as (1, D)) instead of (H, C) and (1, C). The
   practical's reference number depends on that draw, so its test keeps its own
   ``_init_model``; :func:`init_model(D, H, C, rng) <rnn_reference.practical.init_model>`
   draws the right shapes.
3. **The gradient check divided by zero** when both gradients of an entry were 0 (0/0 = nan,
   which its ``>`` test let pass, with only a RuntimeWarning). Element-wise relative errors
   now use the floor ``max(1e-8, |a| + |b|)``, as the practical's own ``relative_error`` does.
4. **``bptt`` always clipped the gradients** to [-5, 5], so the gradient check compared
   clipped gradients with unclipped finite differences. Clipping is now an option,
   ``bptt(..., clip=None | "elementwise" | "global_norm", clip_value=5.0)``, off by default:
   ``"elementwise"`` is the practical's clip, ``"global_norm"`` rescales all gradients together
   when their norm exceeds ``clip_value`` (Pascanu et al. 2013).

Added: truncated BPTT (``bptt(..., truncate_steps=k)``); ``rnn_gradient_check`` returns a
:class:`~rnn_reference.gradient_check.GradientCheckResult` (worst relative error per parameter,
where, pass/fail) and prints its table only with ``verbose=True``; ``rnn_forward``'s
``verbose`` defaults to False (the practical printed every step, also inside ``bptt``).
The GRU follows PyTorch, applying the reset gate after the hidden matrix product; the
practical's (Cho et al.'s) equation applies it before.

Two weight layouts, on purpose
------------------------------
The vanilla RNN keeps the practical's layout, ``Wxh`` (D, H) applied as ``x @ Wxh``: it is what
the practical's text, hints and reference number use, so a learner's code from the practical
runs here unchanged. The GRU and LSTM, which the practical only states as equations, use
``torch.nn``'s layout, ``weight_ih`` (G*H, D) applied as ``x @ W.T`` with the gates stacked in
torch's order: their weights then are ``nn.GRU`` / ``nn.LSTM``'s state dict, one to one, so the
comparison with ``torch.autograd`` (and with the trained models) needs no transposes or gate
shuffles, which is where mapping mistakes hide. One layout for all three would break either the
practical's code or that one-to-one mapping.
"""

from rnn_reference.classifier import (
    CELLS,
    Cell,
    classifier_backward,
    classifier_forward,
    classifier_gradient_check,
    classifier_loss_and_grads,
    init_classifier_params,
    random_classifier_problem,
)
from rnn_reference.gradient_check import (
    GradientCheckResult,
    ParameterCheck,
    elementwise_relative_error,
    gradient_check,
    relative_error,
)
from rnn_reference.gradient_norms import (
    add_gate_bias,
    hidden_gradient_norms,
    long_sequence_gradient_norms,
)
from rnn_reference.gru import (
    gru_init_params,
    gru_sequence_backward,
    gru_sequence_forward,
    gru_step_backward,
    gru_step_forward,
)
from rnn_reference.layers import (
    cross_entropy,
    dcross_entropy,
    fc_backward,
    fc_forward,
    sigmoid,
    softmax,
    tanh_backward,
    tanh_forward,
)
from rnn_reference.lstm import (
    lstm_init_params,
    lstm_sequence_backward,
    lstm_sequence_forward,
    lstm_step_backward,
    lstm_step_forward,
)
from rnn_reference.practical import (
    bptt,
    cell_fn_backward,
    cell_fn_forward,
    clip_gradients,
    init_model,
    rnn_forward,
    rnn_gradient_check,
)
from rnn_reference.rnn_cell import (
    rnn_init_params,
    rnn_sequence_backward,
    rnn_sequence_forward,
    rnn_step_backward,
    rnn_step_forward,
)

__all__ = [
    "CELLS",
    "Cell",
    "GradientCheckResult",
    "ParameterCheck",
    "add_gate_bias",
    "bptt",
    "cell_fn_backward",
    "cell_fn_forward",
    "classifier_backward",
    "classifier_forward",
    "classifier_gradient_check",
    "classifier_loss_and_grads",
    "clip_gradients",
    "cross_entropy",
    "dcross_entropy",
    "elementwise_relative_error",
    "fc_backward",
    "fc_forward",
    "gradient_check",
    "gru_init_params",
    "gru_sequence_backward",
    "gru_sequence_forward",
    "gru_step_backward",
    "gru_step_forward",
    "hidden_gradient_norms",
    "init_classifier_params",
    "init_model",
    "long_sequence_gradient_norms",
    "lstm_init_params",
    "lstm_sequence_backward",
    "lstm_sequence_forward",
    "lstm_step_backward",
    "lstm_step_forward",
    "random_classifier_problem",
    "relative_error",
    "rnn_forward",
    "rnn_gradient_check",
    "rnn_init_params",
    "rnn_sequence_backward",
    "rnn_sequence_forward",
    "rnn_step_backward",
    "rnn_step_forward",
    "sigmoid",
    "softmax",
    "tanh_backward",
    "tanh_forward",
]
