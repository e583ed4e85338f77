"""RecurrentClassifier without a Trainer: arguments, loss and L2, optimizers, predict, figures."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from matplotlib.figure import Figure

from lightning_module import RecurrentClassifier
from lightning_module.training.figures import confusion_figure, misclassified_figure


def batch(n: int = 6, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    images = torch.rand(n, 28, 28, generator=generator)
    return images, torch.randint(0, 10, (n,), generator=generator)


class LoggedValues:
    """Capture what the model passes to ``self.log`` (no Trainer needed)."""

    def __init__(self, model: RecurrentClassifier) -> None:
        self.values: dict[str, object] = {}
        self.options: dict[str, dict] = {}

        def log(name, value, **options):
            self.values[name] = value
            self.options[name] = options

        model.log = log


def test_l2_term_equals_lambda_times_half_the_squared_output_weights():
    model = RecurrentClassifier(cell="rnn", hidden_size=9, l2_lambda=1e-3, head_init="practical")
    weight = model.net.head.weight.detach()
    expected = 1e-3 * 0.5 * (weight.double() ** 2).sum()
    assert torch.allclose(model.l2_term().double(), expected, rtol=1e-6)
    assert model.l2_weights() == [model.net.head.weight]  # the bias is not penalised


def test_l2_scope_all_covers_every_weight_matrix_and_no_bias():
    model = RecurrentClassifier(
        cell="lstm", hidden_size=5, num_layers=2, l2_lambda=0.5, l2_scope="all"
    )
    names = {
        name for name, p in model.net.named_parameters() if any(p is w for w in model.l2_weights())
    }
    assert names == {
        "rnn.weight_ih_l0",
        "rnn.weight_hh_l0",
        "rnn.weight_ih_l1",
        "rnn.weight_hh_l1",
        "head.weight",
    }
    expected = 0.5 * 0.5 * sum((model.net.get_parameter(n).detach() ** 2).sum() for n in names)
    torch.testing.assert_close(model.l2_term().detach(), expected)


@pytest.mark.parametrize("stage", ["train", "val", "test"])
def test_shared_step_loss_is_cross_entropy_plus_the_l2_term_and_logs_both_per_epoch(stage):
    model = RecurrentClassifier(cell="gru", hidden_size=7, l2_lambda=0.01)
    logged = LoggedValues(model)
    x, y = batch()
    step = {"train": model.training_step, "val": model.validation_step, "test": model.test_step}
    if stage == "train":  # training sums on the device and logs once, at the epoch's end
        model.on_train_epoch_start()
    result = step[stage]((x, y), 0)
    if stage == "train":
        model.on_train_epoch_end()
    data_loss = F.cross_entropy(model(x), y)
    l2 = 0.01 * 0.5 * (model.net.head.weight**2).sum()
    torch.testing.assert_close(logged.values[f"{stage}_data_loss"], data_loss)
    torch.testing.assert_close(logged.values[f"{stage}_l2"], l2)
    torch.testing.assert_close(logged.values[f"{stage}_loss"], data_loss + l2)
    if stage == "train":
        torch.testing.assert_close(result, data_loss + l2)
    if stage == "train":
        accuracy = (model(x).argmax(dim=1) == y).float().mean()
        torch.testing.assert_close(logged.values["train_acc"], accuracy)
    else:
        assert logged.values[f"{stage}_acc"] is getattr(model, f"{stage}_acc")
    for options in logged.options.values():
        assert options["on_step"] is False and options["on_epoch"] is True
    assert logged.options[f"{stage}_loss"]["sync_dist"] is True


def test_accuracy_metric_is_micro_averaged_and_counts_correct_predictions():
    model = RecurrentClassifier(hidden_size=4)
    assert model.val_acc.average == "micro"
    logits = torch.eye(10)[[1, 2, 3, 3]]
    model.val_acc.update(logits, torch.tensor([1, 2, 3, 4]))
    assert model.val_acc.compute().item() == pytest.approx(0.75)


def test_predict_step_returns_the_indices_and_softmax_probabilities():
    model = RecurrentClassifier(hidden_size=4).eval()
    x, _ = batch(5)
    indices = torch.tensor([7, 3, 0, 1, 2])
    out = model.predict_step((x, indices), 0)
    assert torch.equal(out["index"], indices)
    torch.testing.assert_close(out["probabilities"], torch.softmax(model(x), dim=1))
    torch.testing.assert_close(out["probabilities"].sum(1), torch.ones(5))


def test_optimizer_is_adam_with_the_given_lr_and_plateau_schedule_monitors_val_loss():
    constant = RecurrentClassifier(hidden_size=4, lr=0.003).configure_optimizers()
    assert isinstance(constant, torch.optim.Adam)
    assert constant.param_groups[0]["lr"] == 0.003
    plateau = RecurrentClassifier(
        hidden_size=4, lr_schedule="plateau", plateau_factor=0.25, plateau_patience=3
    ).configure_optimizers()
    scheduler = plateau["lr_scheduler"]["scheduler"]
    assert isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau)
    assert (scheduler.factor, scheduler.patience) == (0.25, 3)
    assert plateau["lr_scheduler"]["monitor"] == "val_loss"


def test_onecycle_warms_up_to_lr_then_anneals_over_the_fits_steps_per_step():
    from types import SimpleNamespace

    model = RecurrentClassifier(hidden_size=4, lr=0.01, lr_schedule="onecycle")
    model.trainer = SimpleNamespace(estimated_stepping_batches=40)
    config = model.configure_optimizers()
    optimizer, scheduler = config["optimizer"], config["lr_scheduler"]["scheduler"]
    assert config["lr_scheduler"]["interval"] == "step"
    rates = []
    for _ in range(40):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    peak = rates.index(max(rates))
    assert peak == 9  # the first quarter of the 40 steps (0.25 * 40 - 1) warms up
    assert max(rates) == pytest.approx(0.01)
    assert rates[0] == pytest.approx(0.01 / 25)
    assert all(a < b for a, b in zip(rates[:peak], rates[1 : peak + 1], strict=True))
    assert all(a > b for a, b in zip(rates[peak:-1], rates[peak + 1 :], strict=True))
    assert rates[-1] < 0.01 / 1000


def test_constructor_arguments_are_recorded_in_hparams_and_the_permutation_in_the_state_dict():
    model = RecurrentClassifier(cell="gru", hidden_size=12, permute=True, permute_seed=5)
    assert model.hparams.cell == "gru"
    assert model.hparams.hidden_size == 12
    assert model.hparams.permute_seed == 5
    assert "net.permutation" in model.state_dict()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"cell": "elman"}, "cell must be one of"),
        ({"pixels_per_step": 10}, "pixels_per_step must divide 784"),
        ({"hidden_size": 0}, "hidden_size must be an integer >= 1"),
        ({"num_layers": 0}, "num_layers must be an integer >= 1"),
        ({"dropout": 1.0}, r"dropout must be a probability in \[0, 1\)"),
        ({"l2_lambda": -1e-3}, "l2_lambda must be a number >= 0"),
        ({"l2_lambda": float("nan")}, "l2_lambda must be a number >= 0"),
        ({"l2_scope": "bias"}, "l2_scope must be one of"),
        ({"lr": 0.0}, "lr must be a number > 0"),
        ({"lr": -1.0}, "lr must be a number > 0"),
        ({"lr_schedule": "cosine"}, "lr_schedule must be one of"),
        ({"plateau_factor": 1.0}, r"plateau_factor must be a number in \(0, 1\)"),
        ({"plateau_patience": -1}, "plateau_patience must be an integer >= 0"),
        ({"head_init": "zeros"}, "head_init must be one of"),
        ({"tbptt_steps": 0}, "tbptt_steps must be None or an integer >= 1"),
    ],
)
def test_classifier_refuses_bad_arguments_naming_the_argument(kwargs, message):
    with pytest.raises(ValueError, match=message):
        RecurrentClassifier(**kwargs)


def test_confusion_figure_writes_every_count_in_its_cell():
    matrix = torch.tensor([[3, 1], [0, 5]])
    figure = confusion_figure(matrix, "val confusion matrix")
    assert isinstance(figure, Figure)
    texts = sorted(t.get_text() for t in figure.axes[0].texts)
    assert texts == ["0", "1", "3", "5"]


def test_misclassified_figure_labels_each_digit_with_true_and_predicted_class():
    images = torch.rand(3, 28, 28)
    figure = misclassified_figure(images, torch.tensor([1, 2, 3]), torch.tensor([7, 8, 9]), "val")
    labels = [text.get_text() for text in figure.axes[0].texts]
    assert labels == ["1\u21927", "2\u21928", "3\u21929"]
    empty = misclassified_figure(torch.zeros(0, 28, 28), torch.zeros(0), torch.zeros(0), "val")
    assert "no misclassified examples" in [t.get_text() for t in empty.axes[0].texts]


def test_l2_term_is_exactly_zero_without_l2_even_when_the_weights_overflow():
    model = RecurrentClassifier(hidden_size=4, l2_lambda=0.0)
    with torch.no_grad():
        model.net.head.weight.fill_(1e30)  # squares overflow float32 to inf; 0 * inf would be nan
    assert model.l2_term().item() == 0.0
