"""Notebook 3's torch checkers: the reference equals the package's network, right code passes,
classic mistakes fail with their hint; and the helpers that let a notebook run past an
unwritten exercise."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from lightning_module.network import SequenceClassifierNet
from rnn_reference import exercises, torch_checks
from rnn_reference.torch_checks import (
    NETWORK_CASES,
    ReferenceClassifier,
    check_network_forward,
    check_network_layers,
    check_train_epoch,
    train_epoch,
)


@pytest.mark.parametrize("case", NETWORK_CASES, ids=str)
def test_the_reference_computes_what_the_package_network_computes(case):
    cell, hidden_size, num_layers, dropout = case
    reference = ReferenceClassifier(*case)
    package = SequenceClassifierNet(
        cell=cell, hidden_size=hidden_size, num_layers=num_layers, dropout=dropout,
        gru_impl="torch",
    )  # fmt: skip
    package.load_state_dict(reference.state_dict())
    images = torch.rand(3, 28, 28)
    for mode in (False, True):
        reference.train(mode)
        package.train(mode)
        torch.manual_seed(0)
        expected = package(images)
        torch.manual_seed(0)
        torch.testing.assert_close(reference(images), expected)


class Unwritten(nn.Module):
    def __init__(self, cell="lstm", hidden_size=8, num_layers=1, dropout=0.0):
        super().__init__()
        raise NotImplementedError("IMPLEMENT-ME: the layers")

    def forward(self, images):
        raise NotImplementedError("IMPLEMENT-ME: the forward pass")


class NoOutputDropout(ReferenceClassifier):
    def forward(self, images):
        outputs, _ = self.rnn(images.reshape(images.shape[0], 28, 28))
        return self.head(outputs[:, -1])


class OneLayer(ReferenceClassifier):
    def __init__(self, cell="lstm", hidden_size=8, num_layers=1, dropout=0.0):
        super().__init__(cell, hidden_size, 1, dropout)


class FirstStep(ReferenceClassifier):
    def forward(self, images):
        outputs, _ = self.rnn(images.reshape(images.shape[0], 28, 28))
        return self.head(self.output_dropout(outputs[:, 0]))


def test_the_reference_network_passes_both_checks():
    assert check_network_layers(ReferenceClassifier).passed
    result = check_network_forward(ReferenceClassifier)
    assert result.passed and "PASSED" in str(result)


def test_an_unwritten_network_fails_both_checks_naming_its_stub():
    layers, forward = check_network_layers(Unwritten), check_network_forward(Unwritten)
    assert "raised NotImplementedError: IMPLEMENT-ME: the layers" in str(layers)
    assert "raised NotImplementedError: IMPLEMENT-ME: the forward pass" in str(forward)


@pytest.mark.parametrize(
    ("network", "check", "hint"),
    [
        (NoOutputDropout, check_network_forward, "drop the last step's output"),
        (FirstStep, check_network_forward, "read the LAST step's output"),
        (OneLayer, check_network_layers, "num_layers argument"),
    ],
)
def test_a_classic_network_mistake_fails_with_its_hint(network, check, hint):
    result = check(network)
    assert not result.passed
    assert hint in str(result)


def test_the_reference_epoch_passes_and_trains():
    assert check_train_epoch(train_epoch).passed
    model = ReferenceClassifier("rnn", 4)
    before = [p.detach().clone() for p in model.parameters()]
    batches = [(torch.rand(2, 28, 28), torch.tensor([1, 2]))]
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    loss, accuracy = train_epoch(model, batches, optimizer, nn.functional.cross_entropy)
    assert loss > 0 and 0 <= accuracy <= 1
    assert any(not torch.equal(a, b) for a, b in zip(before, model.parameters(), strict=True))


def _without_zero_grad(model, batches, optimizer, loss_fn):
    model.train()
    losses, accuracies = [], []
    for images, labels in batches:
        logits = model(images)
        loss = loss_fn(logits, labels)
        loss.backward()
        optimizer.step()
        losses.append(float(loss))
        accuracies.append(float((logits.argmax(1) == labels).float().mean()))
    return sum(losses) / len(losses), sum(accuracies) / len(accuracies)


def _without_step(model, batches, optimizer, loss_fn):
    model.train()
    for images, labels in batches:
        optimizer.zero_grad()
        loss_fn(model(images), labels).backward()
    return 0.0, 0.0


@pytest.mark.parametrize(
    ("loop", "hint"),
    [
        (_without_zero_grad, "optimizer.zero_grad() before each backward"),
        (_without_step, "optimizer.step() after loss.backward()"),
    ],
)
def test_a_classic_training_loop_mistake_fails_with_its_hint(loop, hint):
    result = check_train_epoch(loop)
    assert not result.passed
    assert hint in str(result)


def test_a_loop_that_never_sets_training_mode_is_told_to():
    def no_train_call(model, batches, optimizer, loss_fn):
        total = []
        for images, labels in batches:
            optimizer.zero_grad()
            logits = model(images)
            loss = loss_fn(logits, labels)
            loss.backward()
            optimizer.step()
            total.append((float(loss), float((logits.argmax(1) == labels).float().mean())))
        return tuple(sum(v) / len(total) for v in zip(*total, strict=True))

    result = check_train_epoch(no_train_call)
    assert not result.passed and "model.train()" in str(result)


def test_mine_or_reference_falls_back_only_on_the_stub(capsys):
    def stub(x):
        raise NotImplementedError("IMPLEMENT-ME: double x")

    def reference(x):
        return 2 * x

    wrapped = exercises.mine_or_reference(stub, reference, "double")
    assert wrapped(3) == 6 and wrapped(4) == 8
    out = capsys.readouterr().out
    assert out.count("note: double is not written yet (IMPLEMENT-ME: double x)") == 1

    def buggy(x):
        raise NotImplementedError("a bug of the learner's, not the stub")

    with pytest.raises(NotImplementedError, match="a bug"):
        exercises.mine_or_reference(buggy, reference)(1)
    assert exercises.mine_or_reference(lambda x: x + 1, reference)(1) == 2


def test_checking_reports_the_stub_as_failed_and_lets_other_errors_through(capsys):
    with exercises.checking("f"):
        raise NotImplementedError("IMPLEMENT-ME: f")
    assert "f: FAILED: raised NotImplementedError: IMPLEMENT-ME: f" in capsys.readouterr().out
    with pytest.raises(ValueError), exercises.checking("f"):
        raise ValueError("the learner's bug")


def test_the_torch_checks_are_not_loaded_by_the_numpy_reference():
    import subprocess
    import sys

    code = "import rnn_reference, rnn_reference.exercises, sys; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
    assert torch_checks.LAYERS["gru"] is nn.GRU
