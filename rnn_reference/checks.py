"""Checkers for the learner's own versions of the practical's functions and the GRU/LSTM steps,
and the learner's progress through the notebooks' exercises.

Shape legend: N batch, T steps, D input, H hidden, C classes.

Each ``check_*(fn)`` runs ``fn`` (with the practical's signature) and the package's reference on
the same inputs, for several shapes (N = 1 as in the practical, and N > 1), and returns a
:class:`CheckResult`: ``.passed``, ``.causes`` and, as ``str(result)``, a report that starts
with the verdict and the likely cause, then shows the first failing case in full (each output
named, e.g. ``cache[4] (y, the logits)``, with what its error means) and the other cases in a
line. The cause is named when ``fn``'s outputs equal those of a one-term change of the reference
(a term dropped, transposed, swapped, of the wrong sign or derivative, in the wrong order or
normalisation), or when ``fn`` changed its inputs in place. An exception inside ``fn`` is
reported at the learner's own line, with the shapes of the arrays on it. Where ``fn`` calls an
earlier exercise through a global name, the check runs it with the package's version of it.
Every check records its verdict; :func:`progress` lists them for a notebook.
"""

from __future__ import annotations

from rnn_reference.checking.gated import (
    check_gru_step_backward,
    check_gru_step_forward,
    check_lstm_step_backward,
    check_lstm_step_forward,
)
from rnn_reference.checking.gradient_check_exercise import check_rnn_gradient_check
from rnn_reference.checking.progress import EXERCISES, progress, record
from rnn_reference.checking.report import CaseReport, CheckResult
from rnn_reference.checking.vanilla import (
    check_bptt,
    check_cell_fn_backward,
    check_cell_fn_forward,
    check_rnn_forward,
)
from rnn_reference.gru import gru_step_backward, gru_step_forward
from rnn_reference.lstm import lstm_step_backward, lstm_step_forward
from rnn_reference.practical import (
    bptt,
    cell_fn_backward,
    cell_fn_forward,
    rnn_forward,
    rnn_gradient_check,
)

# The reference implementations these checkers compare with (handy to show they pass).
REFERENCES = {
    "cell_fn_forward": (check_cell_fn_forward, cell_fn_forward),
    "rnn_forward": (check_rnn_forward, rnn_forward),
    "cell_fn_backward": (check_cell_fn_backward, cell_fn_backward),
    "bptt": (check_bptt, bptt),
    "rnn_gradient_check": (check_rnn_gradient_check, rnn_gradient_check),
    "gru_step_forward": (check_gru_step_forward, gru_step_forward),
    "gru_step_backward": (check_gru_step_backward, gru_step_backward),
    "lstm_step_forward": (check_lstm_step_forward, lstm_step_forward),
    "lstm_step_backward": (check_lstm_step_backward, lstm_step_backward),
}

__all__ = [
    "EXERCISES",
    "REFERENCES",
    "CaseReport",
    "CheckResult",
    "check_bptt",
    "check_cell_fn_backward",
    "check_cell_fn_forward",
    "check_gru_step_backward",
    "check_gru_step_forward",
    "check_lstm_step_backward",
    "check_lstm_step_forward",
    "check_rnn_forward",
    "check_rnn_gradient_check",
    "progress",
    "record",
]
