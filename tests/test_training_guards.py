"""A diverging run stops at its first non-finite loss and keeps its checkpoints.

Two ways to diverge: a real one (lr=1e30 with the practical's L2 of 1e-3: the first Adam step
moves every weight by about 1e30, so the next loss, 1e-3 * 1/2 ||W||^2 ~ 1e57, overflows
float32) and an injected one (``PoisonWeights`` sets the head's
bias to NaN mid-epoch, so the epochs before it finish normally and write checkpoints).
``LossRecorder`` finds the first non-finite step independently of the guard.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch
from pytorch_lightning.callbacks import Callback
from tiny_cli import tiny_args

from lightning_module import RecurrentClassifier
from lightning_module.cli import main, run_cli
from lightning_module.training.guards import NonFiniteLossError, NonFiniteLossGuard

pytestmark = pytest.mark.filterwarnings("ignore:LightningCLI's args parameter")

STEPS_PER_EPOCH = 4  # 200 training images in batches of 50


class LossRecorder(Callback):
    """(global step at the batch's start, whether its loss was finite) for every batch."""

    def __init__(self) -> None:
        self.steps: list[tuple[int, bool]] = []

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        self._step = trainer.global_step

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        self.steps.append((self._step, bool(torch.isfinite(outputs["loss"]))))

    def first_non_finite_step(self) -> int:
        return next(step for step, finite in self.steps if not finite)


class PoisonWeights(Callback):
    """Set the output bias to NaN at the start of batch ``batch`` of epoch ``epoch``."""

    def __init__(self, epoch: int, batch: int) -> None:
        self.epoch, self.batch = epoch, batch

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        if (trainer.current_epoch, batch_idx) == (self.epoch, self.batch):
            with torch.no_grad():
                pl_module.net.head.bias.fill_(float("nan"))


def fit_args(mnist_dir, root, lr: str, max_epochs: int = 5) -> list[str]:
    return [
        "fit",
        *tiny_args(mnist_dir, None, name=None),
        "--model.cell",
        "rnn",
        "--model.lr",
        lr,
        "--model.l2_lambda",
        "0.001",
        "--trainer.max_epochs",
        str(max_epochs),
        "--trainer.logger",
        "false",
        "--trainer.default_root_dir",
        str(root),
        "--early_stopping.patience",
        "10",
    ]


def test_lr_1e30_diverges_and_the_fit_stops_in_that_epoch_leaving_earlier_checkpoints_as_they_were(
    mnist_dir, tmp_path
):
    run_cli(fit_args(mnist_dir, tmp_path, lr="0.01", max_epochs=1))  # a good run, same root
    folder = tmp_path / "version_0" / "checkpoints"
    before = {name: (folder / name).read_bytes() for name in ("last.ckpt", "best.ckpt")}
    recorder = LossRecorder()
    with pytest.raises(NonFiniteLossError) as error:
        run_cli(fit_args(mnist_dir, tmp_path, lr="1e30"), extra_callbacks=[recorder])
    first_bad = recorder.first_non_finite_step()
    assert first_bad < STEPS_PER_EPOCH
    assert [step for step, _ in recorder.steps] == list(range(STEPS_PER_EPOCH))  # one epoch
    message = str(error.value)
    assert f"training loss is not finite (NaN or inf) at global step {first_bad} (epoch 0)" in (
        message
    )
    assert "lr=1e+30" in message and "--trainer.gradient_clip_val" in message
    assert {name: (folder / name).read_bytes() for name in before} == before
    assert sorted(p.name for p in folder.iterdir()) == ["best.ckpt", "last.ckpt"]
    assert not list((tmp_path / "version_1").rglob("*.ckpt"))  # the diverged run saved nothing


def test_a_fit_whose_weights_turn_nan_mid_epoch_keeps_the_last_finished_epochs_checkpoints(
    mnist_dir, tmp_path
):
    recorder = LossRecorder()
    with pytest.raises(NonFiniteLossError) as error:
        run_cli(
            fit_args(mnist_dir, tmp_path, lr="0.01"),
            extra_callbacks=[PoisonWeights(epoch=2, batch=1), recorder],
        )
    first_bad = recorder.first_non_finite_step()
    assert first_bad == 2 * STEPS_PER_EPOCH + 1
    assert f"at global step {first_bad} (epoch 2)" in str(error.value)
    folder = tmp_path / "version_0" / "checkpoints"
    assert sorted(p.name for p in folder.iterdir()) == ["best.ckpt", "last.ckpt"]
    last = torch.load(folder / "last.ckpt", weights_only=True)
    assert last["epoch"] == 1 and last["global_step"] == 2 * STEPS_PER_EPOCH
    for name in ("last.ckpt", "best.ckpt"):
        model = RecurrentClassifier.load_from_checkpoint(folder / name)
        assert all(torch.isfinite(p).all() for p in model.parameters())


def test_the_cli_reports_divergence_in_one_error_line_and_exits_1(mnist_dir, tmp_path, capsys):
    code = main(fit_args(mnist_dir, tmp_path, lr="1e30"))
    assert code == 1
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if "error" in line.lower()]
    assert len(lines) == 1
    assert lines[0].startswith(
        "rnn-mnist: error: training loss is not finite (NaN or inf) at global step"
    )
    assert "Traceback" not in err
    assert not list(tmp_path.rglob("*.ckpt"))


def test_a_non_finite_validation_loss_stops_the_run_before_that_epochs_checkpoints(
    mnist_dir, tmp_path
):
    class PoisonAfterTraining(Callback):  # finite training losses, NaN weights in validation
        def on_validation_start(self, trainer, pl_module) -> None:
            if trainer.current_epoch == 1 and not trainer.sanity_checking:
                with torch.no_grad():
                    pl_module.net.head.bias.fill_(float("inf"))

    expected = r"val_loss is not finite \((nan|inf)\) after epoch 1"
    with pytest.raises(NonFiniteLossError, match=expected):
        run_cli(fit_args(mnist_dir, tmp_path, lr="0.01"), extra_callbacks=[PoisonAfterTraining()])
    last = tmp_path / "version_0" / "checkpoints" / "last.ckpt"
    assert torch.load(last, weights_only=True)["epoch"] == 0


def fake_trainer(step: int) -> SimpleNamespace:
    return SimpleNamespace(
        global_step=step, current_epoch=3, gradient_clip_val=None, sanity_checking=False
    )


class FakeModule:
    hparams = SimpleNamespace(lr=0.5)

    def all_gather(self, tensor):
        return tensor


def feed(guard: NonFiniteLossGuard, losses: list[float], device: str = "cpu") -> None:
    """Run the guard's per-batch hooks over ``losses`` at global steps 10, 11, ..."""
    for step, value in enumerate(losses, start=10):
        trainer = fake_trainer(step)
        guard.on_train_batch_start(trainer, FakeModule(), None, step)
        loss = torch.tensor(value, device=device)
        guard.on_train_batch_end(trainer, FakeModule(), {"loss": loss}, None, step)


def test_the_guard_names_the_first_non_finite_step_even_when_later_losses_are_finite_again():
    guard = NonFiniteLossGuard()
    feed(guard, [2.0, 1.5, float("nan"), 0.7, float("inf")])
    with pytest.raises(NonFiniteLossError, match=r"at global step 12 \(epoch 3\).*lr=0.5"):
        guard.on_train_epoch_end(fake_trainer(15), FakeModule())


def test_the_guard_stays_silent_while_every_loss_is_finite_and_skips_the_sanity_check():
    guard = NonFiniteLossGuard()
    feed(guard, [2.0, 1.5, 1e30])
    guard.on_validation_start(fake_trainer(13), FakeModule())
    guard.on_train_epoch_end(fake_trainer(13), FakeModule())
    feed(guard, [float("nan")])
    sanity = SimpleNamespace(**{**vars(fake_trainer(13)), "sanity_checking": True})
    guard.on_validation_start(sanity, FakeModule())  # no training during the sanity check
    with pytest.raises(NonFiniteLossError):
        guard.on_validation_start(fake_trainer(13), FakeModule())


@pytest.mark.gpu
def test_the_guard_adds_no_host_device_sync_to_a_training_step():
    guard = NonFiniteLossGuard()
    feed(guard, [1.0], device="cuda")  # the first call allocates; the steps after it must not sync
    torch.cuda.set_sync_debug_mode("error")
    try:
        feed(guard, [2.0, float("nan"), 3.0], device="cuda")
    finally:
        torch.cuda.set_sync_debug_mode("default")
    with pytest.raises(NonFiniteLossError, match="at global step 11"):
        guard.on_train_epoch_end(fake_trainer(13), FakeModule())
