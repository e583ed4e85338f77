"""The training step's metrics: summed on the device, logged once per epoch as batch-weighted
means (no ``self.log`` per step)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from lightning_module import RecurrentClassifier
from lightning_module.model import TRAIN_METRICS


class LoggedValues:
    def __init__(self, model: RecurrentClassifier) -> None:
        self.calls: list[tuple[str, torch.Tensor, dict]] = []
        model.log = lambda name, value, **options: self.calls.append((name, value, options))


def test_training_metrics_are_logged_once_per_epoch_as_the_batch_weighted_means():
    torch.manual_seed(0)
    model = RecurrentClassifier(cell="lstm", hidden_size=6, l2_lambda=0.01)
    logged = LoggedValues(model)
    batches = [(torch.rand(n, 28, 28), torch.randint(0, 10, (n,))) for n in (6, 4)]
    model.on_train_epoch_start()
    losses = [model.training_step(batch, i) for i, batch in enumerate(batches)]
    assert logged.calls == []  # nothing logged per step
    model.on_train_epoch_end()
    values = {name: value for name, value, _ in logged.calls}
    assert list(values) == list(TRAIN_METRICS)
    with torch.no_grad():
        logits = [model(x) for x, _ in batches]
        data = [F.cross_entropy(z, y) for z, (_, y) in zip(logits, batches, strict=True)]
        correct = sum((z.argmax(1) == y).sum() for z, (_, y) in zip(logits, batches, strict=True))
    l2 = 0.01 * 0.5 * model.net.head.weight.detach().pow(2).sum()
    torch.testing.assert_close(values["train_loss"], (6 * losses[0] + 4 * losses[1]).detach() / 10)
    torch.testing.assert_close(values["train_data_loss"], (6 * data[0] + 4 * data[1]) / 10)
    torch.testing.assert_close(values["train_l2"], l2)
    torch.testing.assert_close(values["train_acc"], correct.float() / 10)
    for _, _, options in logged.calls:
        assert options == {"on_step": False, "on_epoch": True, "sync_dist": True, "batch_size": 10}


def test_a_new_training_epoch_starts_its_sums_from_zero():
    model = RecurrentClassifier(hidden_size=4)
    logged = LoggedValues(model)
    x, y = torch.rand(5, 28, 28), torch.randint(0, 10, (5,))
    model.on_train_epoch_start()
    model.training_step((torch.rand(7, 28, 28), torch.randint(0, 10, (7,))), 0)
    model.on_train_epoch_end()
    model.on_train_epoch_start()
    loss = model.training_step((x, y), 0)
    model.on_train_epoch_end()
    second = {name: (value, options) for name, value, options in logged.calls[len(TRAIN_METRICS) :]}
    torch.testing.assert_close(second["train_loss"][0], loss.detach())
    assert second["train_loss"][1]["batch_size"] == 5
