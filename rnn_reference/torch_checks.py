"""Checkers for notebook 3's PyTorch exercises: the classifier's layers, its forward pass (with
stacking and dropout), and one epoch of the practical's training loop.

Shape legend: N batch, T steps (28 rows), H hidden, C classes, L layers.

Like :mod:`rnn_reference.checks`, each ``check_*`` runs the learner's code next to a reference
written here with ``torch.nn`` and returns a :class:`TorchCheckResult` that prints PASSED, or
FAILED with what differs and, for a classic mistake, which one; an exception in the learner's
code is reported, never raised. The references are what the package's ``SequenceClassifierNet``
computes (``tests/test_reference_torch_checks.py`` compares them), written out so that this
module needs torch only, not the Lightning package. Imported on its own: ``import
rnn_reference`` does not load torch.
"""

from __future__ import annotations

import contextlib
import io
import traceback
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from rnn_reference.checking.progress import is_exercise, record

LAYERS = {"rnn": nn.RNN, "gru": nn.GRU, "lstm": nn.LSTM}
SIDE = 28  # an MNIST image: 28 steps (rows) of 28 pixels
# (cell, hidden_size, num_layers, dropout) of every case: one layer as in the practical's
# default, then stacks, with and without dropout
NETWORK_CASES = (
    ("lstm", 8, 1, 0.0),
    ("gru", 6, 2, 0.0),
    ("rnn", 5, 1, 0.3),
    ("lstm", 7, 3, 0.25),
)


# the names progress() lists for the checks of RowByRowClassifier's methods
PROGRESS_NAMES = {
    "__init__": "RowByRowClassifier.__init__",
    "forward": "RowByRowClassifier.forward",
}


@dataclass(frozen=True)
class TorchCheckResult:
    """``passed``, and the report (PASSED, or FAILED with one line per problem and hints)."""

    name: str
    problems: tuple = ()
    hints: tuple = ()
    cases: int = 0

    def __post_init__(self) -> None:
        exercise = PROGRESS_NAMES.get(self.name, self.name)
        if is_exercise(exercise):  # for the notebook's progress cell
            record(exercise, self.passed)

    @property
    def passed(self) -> bool:
        return not self.problems

    def report(self) -> str:
        if self.passed:
            return f"{self.name}: PASSED on {self.cases} cases"
        lines = [f"{self.name}: FAILED", *(f"  - {p}" for p in self.problems)]
        lines += [f"  HINT: {hint}" for hint in dict.fromkeys(self.hints)]
        return "\n".join(lines)

    __str__ = __repr__ = report

    def _repr_pretty_(self, printer, cycle) -> None:
        printer.text(self.report())


class ReferenceClassifier(nn.Module):
    """The practical's ``build_model`` in PyTorch: images (N, 28, 28) -> logits (N, C).

    28 steps of 28 pixels; ``num_layers`` stacked layers of ``cell`` with ``hidden_size``
    units; dropout on every layer's output, the last one's included (the practical wrapped
    each layer in ``DropoutWrapper(output_keep_prob)``): torch's layers drop between layers,
    ``output_dropout`` drops the last layer's output; the last step's output goes through a
    linear head. The parameter and module names are ``SequenceClassifierNet``'s.
    """

    def __init__(self, cell="lstm", hidden_size=128, num_layers=1, dropout=0.0, num_classes=10):
        super().__init__()
        self.rnn = LAYERS[cell](
            input_size=SIDE,
            hidden_size=hidden_size,
            num_layers=num_layers,
            dropout=dropout if num_layers > 1 else 0.0,
            batch_first=True,
        )
        self.output_dropout = nn.Dropout(dropout)
        self.head = nn.Linear(hidden_size, num_classes)

    def forward(self, images):
        outputs, _ = self.rnn(images.reshape(images.shape[0], SIDE, SIDE))
        return self.head(self.output_dropout(outputs[:, -1]))


def train_epoch(model, batches, optimizer, loss_fn):
    """One epoch of the practical's loop: for each batch, one optimizer step on its loss.

    Args:
        model: maps images to logits. batches: an iterable of (images, labels).
        optimizer: over ``model``'s parameters. loss_fn: ``(logits, labels) -> scalar loss``.

    Returns:
        (mean loss, mean accuracy) over the batches, each batch's taken before its step, as
        the practical's ``train_tf_model`` reported them.
    """
    model.train()
    total_loss = total_accuracy = 0.0
    count = 0
    for images, labels in batches:
        optimizer.zero_grad()
        logits = model(images)
        loss = loss_fn(logits, labels)
        loss.backward()
        optimizer.step()
        total_loss += loss.item()
        total_accuracy += float((logits.argmax(dim=1) == labels).float().mean())
        count += 1
    return total_loss / count, total_accuracy / count


def _describe(error: BaseException) -> str:
    frames = traceback.extract_tb(error.__traceback__)
    where = ""
    if len(frames) > 1 and not isinstance(error, NotImplementedError):
        code = f": {frames[-1].line}" if frames[-1].line else ""
        where = f" (line {frames[-1].lineno}{code})"
    return f"raised {type(error).__name__}: {error}{where}"


def _call(fn: Callable, *args, **kwargs):
    """``(result, None)``, or ``(None, description)`` when ``fn`` raised (stdout muted)."""
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            return fn(*args, **kwargs), None
    except Exception as error:  # the learner's code may raise anything: report, never raise
        return None, _describe(error)


def _label(cell, hidden_size, num_layers, dropout) -> str:
    return f"{cell}, H={hidden_size}, L={num_layers}, dropout={dropout}"


def _reference(case, seed=0) -> ReferenceClassifier:
    torch.manual_seed(seed)
    return ReferenceClassifier(*case)


def check_network_layers(network_class) -> TorchCheckResult:
    """``network_class(cell, hidden_size, num_layers, dropout)`` builds the reference's layers:
    the same types, ``batch_first``, and parameters of the same names and shapes."""
    problems, hints = [], []
    for case in NETWORK_CASES:
        cell, hidden_size, num_layers, dropout = case
        label = _label(*case)
        reference = _reference(case)
        mine, error = _call(
            network_class,
            cell=cell,
            hidden_size=hidden_size,
            num_layers=num_layers,
            dropout=dropout,
        )
        if error:
            problems.append(f"{label}: {error}")
            continue
        rnn = getattr(mine, "rnn", None)
        if type(rnn) is not type(reference.rnn):
            problems.append(f"{label}: self.rnn is {type(rnn).__name__}, not {cell}'s layer")
            continue
        if not rnn.batch_first:
            problems.append(f"{label}: the layer reads (T, N, D)")
            hints.append("pass batch_first=True: the images come as (N, T, D)")
        if rnn.num_layers != num_layers:
            problems.append(f"{label}: {rnn.num_layers} stacked layers, not {num_layers}")
            hints.append("stack the layers with the num_layers argument of nn.RNN/GRU/LSTM")
        if num_layers > 1 and rnn.dropout != dropout:
            problems.append(f"{label}: dropout between layers is {rnn.dropout}, not {dropout}")
            hints.append("pass dropout to the layer: it drops each layer's output but the last")
        output_dropout = getattr(mine, "output_dropout", None)
        if not isinstance(output_dropout, nn.Dropout) or output_dropout.p != dropout:
            problems.append(f"{label}: self.output_dropout is not nn.Dropout({dropout})")
            hints.append(
                "the practical's DropoutWrapper also drops the last layer's output: "
                "self.output_dropout = nn.Dropout(dropout)"
            )
        try:
            mine.load_state_dict(reference.state_dict())
        except Exception as error:  # names the missing, unexpected or mis-shaped parameters
            first = str(error).splitlines()
            problems.append(f"{label}: the parameters differ: {' '.join(first[1:3]).strip()}")
    return TorchCheckResult("__init__", tuple(problems), tuple(hints), len(NETWORK_CASES))


def check_network_forward(network_class, batch_size=5) -> TorchCheckResult:
    """``network_class.forward``, run on the reference's own modules: the same logits in eval
    mode, and in training mode from the same random seed (so dropout is where it should be)."""
    problems, hints = [], []
    images = torch.rand(batch_size, SIDE, SIDE, generator=torch.Generator().manual_seed(0))
    for case in NETWORK_CASES:
        label = _label(*case)
        reference = _reference(case)
        mine = network_class.__new__(network_class)
        nn.Module.__init__(mine)
        mine.rnn, mine.output_dropout, mine.head = (
            reference.rnn,
            reference.output_dropout,
            reference.head,
        )
        for mode in ("eval", "train"):
            reference.train(mode == "train")
            mine.train(mode == "train")
            torch.manual_seed(1)
            expected = reference(images)
            torch.manual_seed(1)
            got, error = _call(mine, images)
            if error:
                problems.append(f"{label}, {mode} mode: {error}")
                break
            if not isinstance(got, torch.Tensor) or got.shape != expected.shape:
                shape = tuple(got.shape) if isinstance(got, torch.Tensor) else type(got).__name__
                problems.append(f"{label}: logits {shape}, expected {tuple(expected.shape)}")
                hints.append("return the head's output for the last step only: (N, C)")
                break
            if not torch.allclose(got, expected, rtol=1e-5, atol=1e-6):
                problems.append(f"{label}, {mode} mode: the logits differ")
                if mode == "train":
                    hints.append(
                        "in training, drop the last step's output with self.output_dropout "
                        "before the head (and nowhere else)"
                    )
                else:
                    hints.append("read the LAST step's output: outputs[:, -1]")
                break
    return TorchCheckResult("forward", tuple(problems), tuple(hints), 2 * len(NETWORK_CASES))


def _training_problem(seed=0):
    generator = torch.Generator().manual_seed(seed)
    batches = [
        (
            torch.rand(4, SIDE, SIDE, generator=generator),
            torch.randint(0, 10, (4,), generator=generator),
        )
        for _ in range(3)
    ]
    torch.manual_seed(seed)
    return ReferenceClassifier("gru", 6, num_layers=2, dropout=0.2), batches


def _run_epoch(fn, model, batches):
    model.eval()  # so that a loop which never calls model.train() shows
    optimizer = torch.optim.SGD(model.parameters(), lr=0.5, momentum=0.5)
    torch.manual_seed(2)
    return _call(fn, model, iter(batches), optimizer, nn.functional.cross_entropy)


def check_train_epoch(fn) -> TorchCheckResult:
    """``fn(model, batches, optimizer, loss_fn)`` against :func:`train_epoch` on the same model,
    batches and optimizer: the same weights afterwards and the same mean loss and accuracy."""
    model, batches = _training_problem()
    mine_model, _ = _training_problem()
    expected, _ = _run_epoch(train_epoch, model, batches)
    got, error = _run_epoch(fn, mine_model, batches)
    name = "train_epoch"
    if error:
        return TorchCheckResult(name, (error,), (), 1)
    problems, hints = [], []
    if not (isinstance(got, tuple) and len(got) == 2):
        return TorchCheckResult(name, (f"returned {got!r}, not (mean loss, mean accuracy)",))
    if not mine_model.training:
        problems.append("the model was trained in eval mode")
        hints.append("model.train() at the start: dropout is on only in training mode")
    weights = dict(model.named_parameters())
    changed = [
        n for n, p in mine_model.named_parameters() if not torch.allclose(p, weights[n], atol=1e-6)
    ]
    if changed and mine_model.training:
        untouched, _ = _training_problem()
        start = dict(untouched.named_parameters())
        if all(torch.equal(p, start[n]) for n, p in mine_model.named_parameters()):
            problems.append("the weights did not change")
            hints.append("optimizer.step() after loss.backward() updates them")
        else:
            problems.append(f"the weights after the epoch differ ({', '.join(changed[:3])}, ...)")
            hints.append(
                "optimizer.zero_grad() before each backward: otherwise gradients accumulate "
                "over the batches; and one step per batch"
            )
    for what, a, b in (("mean loss", got[0], expected[0]), ("mean accuracy", got[1], expected[1])):
        if not isinstance(a, float | int | torch.Tensor) or abs(float(a) - b) > 1e-5 * (1 + b):
            problems.append(f"{what} is {a!r}, expected {b:.6f}")
            hints.append(
                "average each batch's loss and accuracy, taken before its step, over the batches"
            )
    return TorchCheckResult(name, tuple(problems), tuple(hints), 1)
