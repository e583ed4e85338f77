"""Callbacks are called only at the per-batch hooks where they act; those calls are unchanged."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
import pytorch_lightning as pl
import torch
from pytorch_lightning.callbacks import (
    Callback,
    EarlyStopping,
    LearningRateMonitor,
    ModelCheckpoint,
)
from tiny_cli import tiny_args

from lightning_module.cli import run_cli
from lightning_module.training.step_hooks import (
    BATCH_HOOKS,
    idle,
    implements,
    skip_idle_batch_hooks,
)


class CountingCallback(Callback):
    """Counts the calls of three per-batch hooks; implements no other."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()

    def on_before_backward(self, trainer, pl_module, loss) -> None:
        self.calls["on_before_backward"] += 1

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        self.calls["on_train_batch_end"] += 1

    def on_validation_batch_end(self, trainer, pl_module, outputs, batch, batch_idx, *_) -> None:
        self.calls["on_validation_batch_end"] += 1


class SubclassedCounter(CountingCallback):
    """Inherits its hooks: they count as implemented."""


def test_only_the_hooks_a_class_leaves_as_no_ops_are_set_to_none():
    counting, inherited = CountingCallback(), SubclassedCounter()
    skipped = skip_idle_batch_hooks([counting, inherited])
    implemented = {"on_before_backward", "on_train_batch_end", "on_validation_batch_end"}
    for callback in (counting, inherited):
        for hook in BATCH_HOOKS:
            if hook in implemented:
                assert callable(getattr(callback, hook)), hook
            else:
                assert getattr(callback, hook) is None, hook
    assert len(skipped) == 2 * (len(BATCH_HOOKS) - len(implemented))
    assert ("CountingCallback", "on_after_backward") in skipped
    assert implements(inherited, "on_train_batch_end")
    assert not implements(inherited, "on_after_backward")


def test_a_hook_set_on_the_instance_is_kept():
    callback = Callback()

    def own_hook(trainer, pl_module) -> None:
        pass

    callback.on_after_backward = own_hook
    skip_idle_batch_hooks([callback])
    assert callable(callback.on_after_backward)
    assert callback.on_after_backward is own_hook
    assert callback.on_train_batch_start is None


@pytest.fixture
def checkpoint_batch_ends(monkeypatch) -> list[ModelCheckpoint]:
    """Each ModelCheckpoint whose ``on_train_batch_end`` runs, once per call."""
    calls: list[ModelCheckpoint] = []
    original = ModelCheckpoint.on_train_batch_end

    def spy(self, *args, **kwargs):
        calls.append(self)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(ModelCheckpoint, "on_train_batch_end", spy)
    return calls


class StepCheckpoint(ModelCheckpoint):
    """Overrides the batch-end hook, so its own hook runs whatever its settings."""

    def on_train_batch_end(self, *args, **kwargs) -> None:
        super().on_train_batch_end(*args, **kwargs)


def test_library_hooks_are_skipped_only_under_the_settings_that_make_them_idle():
    by_epoch, by_step = ModelCheckpoint(), ModelCheckpoint(every_n_train_steps=5)
    by_time = ModelCheckpoint(train_time_interval=timedelta(minutes=1))
    overridden = StepCheckpoint()
    per_epoch, per_step = LearningRateMonitor("epoch"), LearningRateMonitor("step")
    every = LearningRateMonitor()  # None: logs at both intervals
    skip_idle_batch_hooks([by_epoch, by_step, by_time, overridden, per_epoch, per_step, every])
    assert by_epoch.on_train_batch_end is None
    assert all(callable(cb.on_train_batch_end) for cb in (by_step, by_time, overridden))
    assert per_epoch.on_train_batch_start is None
    assert callable(per_step.on_train_batch_start) and callable(every.on_train_batch_start)


class TinyModule(pl.LightningModule):
    def __init__(self) -> None:
        super().__init__()
        self.layer = torch.nn.Linear(2, 1)

    def training_step(self, batch, batch_idx):
        return self.layer(batch[0]).pow(2).mean()

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.1)


def fit_tiny(callbacks: list[Callback], batches: int, logger=False, **trainer_kwargs) -> pl.Trainer:
    """One epoch of ``TinyModule`` on ``batches`` batches of 2, no progress bar."""
    data = torch.utils.data.TensorDataset(torch.randn(2 * batches, 2))
    trainer = pl.Trainer(
        max_epochs=1,
        logger=logger,
        enable_progress_bar=False,
        enable_model_summary=False,
        callbacks=callbacks,
        **trainer_kwargs,
    )
    trainer.fit(TinyModule(), train_dataloaders=torch.utils.data.DataLoader(data, 2))
    return trainer


def test_lightning_skips_a_hook_that_is_none_and_calls_the_rest():
    # the contract skip_idle_batch_hooks relies on: _call_callback_hooks skips a hook
    # that is not callable instead of failing
    counting, bare = CountingCallback(), Callback()
    skip_idle_batch_hooks([counting, bare])
    trainer = fit_tiny([counting, bare], 3, enable_checkpointing=False)
    assert trainer.global_step == 3
    assert counting.calls == {"on_before_backward": 3, "on_train_batch_end": 3}


def test_the_cli_trainer_dispatches_each_batch_hook_only_where_implemented(
    mnist_dir, tmp_path, checkpoint_batch_ends
):
    # the CLI's checkpoints save at epoch ends, so their batch-end hook has nothing to do
    counting = CountingCallback()
    args = [
        *tiny_args(mnist_dir, tmp_path),
        *("--trainer.max_epochs", "1", "--trainer.limit_train_batches", "3"),
        *("--trainer.limit_val_batches", "2", "--trainer.num_sanity_val_steps", "0"),
    ]
    cli = run_cli(args, run=False, extra_callbacks=[counting])
    callbacks = cli.trainer.callbacks
    for callback in callbacks:
        for hook in BATCH_HOOKS:
            kept = implements(callback, hook) and not idle(callback, hook)
            assert kept == callable(getattr(callback, hook)), (callback, hook)
    early = next(cb for cb in callbacks if isinstance(cb, EarlyStopping))
    assert early.on_train_batch_end is None  # early stopping acts at epoch ends only
    assert all(cb.on_train_batch_end is None for cb in cli.trainer.checkpoint_callbacks)

    cli.trainer.fit(cli.model, datamodule=cli.datamodule)
    assert counting.calls == {
        "on_before_backward": 3,
        "on_train_batch_end": 3,
        "on_validation_batch_end": 2,
    }
    assert checkpoint_batch_ends == []
    # the checkpoint callbacks still write the epoch's checkpoints
    assert all(Path(cb.best_model_path).is_file() for cb in cli.trainer.checkpoint_callbacks)


class CallIdleHooks(Callback):
    """At every batch, runs the library's own idle hooks on callbacks skipping them, recording
    whether each changed the callback's attributes."""

    def __init__(self, checkpoint: ModelCheckpoint, monitor: LearningRateMonitor) -> None:
        self.checkpoint, self.monitor = checkpoint, monitor
        self.changed: list[bool] = []
        self.stats_read = 0  # learning rates the monitor read at a batch

    def _read_stats(self, *args, **kwargs) -> dict:
        self.stats_read += 1
        return {}

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        before = dict(vars(self.monitor))
        self.monitor._extract_stats = self._read_stats  # shadows the method for this call
        try:
            LearningRateMonitor.on_train_batch_start(
                self.monitor, trainer, pl_module, batch, batch_idx
            )
        finally:
            del self.monitor._extract_stats
        self.changed.append(vars(self.monitor) != before)

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        before = dict(vars(self.checkpoint))
        ModelCheckpoint.on_train_batch_end(
            self.checkpoint, trainer, pl_module, outputs, batch, batch_idx
        )
        self.changed.append(vars(self.checkpoint) != before)


def test_the_skipped_library_hooks_do_nothing_under_those_settings(tmp_path):
    # guards IDLE_HOOKS against a Lightning release that gives these hooks work
    checkpoint = ModelCheckpoint(tmp_path, monitor=None, every_n_epochs=0, save_last=False)
    monitor = LearningRateMonitor("epoch")
    skip_idle_batch_hooks([checkpoint, monitor])
    assert checkpoint.on_train_batch_end is None and monitor.on_train_batch_start is None
    caller = CallIdleHooks(checkpoint, monitor)
    logger = pl.loggers.CSVLogger(tmp_path / "logs")
    fit_tiny([checkpoint, monitor, caller], 4, logger=logger, log_every_n_steps=1)
    assert caller.changed == [False] * 8 and caller.stats_read == 0
    assert not list(tmp_path.glob("*.ckpt"))  # every_n_epochs=0: only batch ends could save


def test_a_step_checkpoint_keeps_its_batch_hook_and_saves_at_its_steps(tmp_path):
    by_step = ModelCheckpoint(
        tmp_path, "{step}", monitor=None, save_top_k=-1, every_n_train_steps=2
    )
    skip_idle_batch_hooks([by_step])
    fit_tiny([by_step], 5)
    assert callable(by_step.on_train_batch_end)
    assert sorted(p.name for p in tmp_path.glob("*.ckpt")) == ["step=2.ckpt", "step=4.ckpt"]


TRAINING_STEP_HOOKS = BATCH_HOOKS[:6]


def test_a_default_fit_makes_four_of_its_54_training_step_hook_calls(mnist_dir, tmp_path):
    # the counts docs/performance.md gives for a fit with the default callbacks
    args = [
        *("--data.data_dir", str(mnist_dir), "--trainer.logger.init_args.save_dir", str(tmp_path)),
        *("--data.val_size", "100", "--model.hidden_size", "8"),
    ]
    callbacks = run_cli(args, run=False).trainer.callbacks
    calls = [(cb, hook) for cb in callbacks for hook in TRAINING_STEP_HOOKS]
    made = [(type(cb).__name__, hook) for cb, hook in calls if callable(getattr(cb, hook))]
    assert (len(callbacks), len(calls), len(made)) == (9, 54, 4)
    assert sorted(made) == sorted(
        [
            ("EpochSeed", "on_train_batch_start"),
            ("NonFiniteLossGuard", "on_train_batch_start"),
            ("NonFiniteLossGuard", "on_train_batch_end"),
            ("LiveProgressBar", "on_train_batch_end"),
        ]
    )


def test_a_cli_checkpoint_given_every_n_train_steps_keeps_its_batch_hook(
    mnist_dir, tmp_path, checkpoint_batch_ends
):
    args = [
        *tiny_args(mnist_dir, tmp_path),
        *("--checkpoint.every_n_train_steps", "2", "--trainer.max_epochs", "1"),
        *("--trainer.limit_train_batches", "4", "--trainer.limit_val_batches", "1"),
    ]
    cli = run_cli(args, run=False)
    by_step, last = (
        next(cb for cb in cli.trainer.checkpoint_callbacks if cb._every_n_train_steps == steps)
        for steps in (2, 0)
    )
    assert callable(by_step.on_train_batch_end)
    assert last.on_train_batch_end is None  # the last-epoch checkpoint saves at epoch ends
    cli.trainer.fit(cli.model, datamodule=cli.datamodule)
    # every batch, and only the checkpoint that needs it
    assert checkpoint_batch_ends == [by_step] * 4
