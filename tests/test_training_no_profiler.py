"""The CLI's default profiler records nothing at no cost per hook; --trainer.profiler wins."""

from __future__ import annotations

from pytorch_lightning.profilers import PassThroughProfiler, SimpleProfiler
from tiny_cli import tiny_args

from lightning_module.cli import run_cli
from lightning_module.training.no_profiler import NoProfiler


def test_profile_hands_back_one_shared_context_that_records_nothing():
    profiler = NoProfiler()
    first, second = profiler.profile("a"), profiler.profile("b")
    assert first is second  # no new object per hook call
    with first, second:  # re-entrant: hooks nest
        pass
    assert isinstance(profiler, PassThroughProfiler)  # what Lightning expects of "no profiler"
    assert profiler.summary() == ""


def test_the_cli_trains_with_no_profiler_unless_one_is_asked_for(mnist_dir, tmp_path):
    args = [
        *tiny_args(mnist_dir, tmp_path),
        *("--trainer.max_epochs", "1", "--trainer.limit_train_batches", "2"),
        *("--trainer.limit_val_batches", "1"),
    ]
    default = run_cli(args, run=False)
    assert type(default.trainer.profiler) is NoProfiler
    default.trainer.fit(default.model, datamodule=default.datamodule)
    assert default.trainer.global_step == 2

    asked = run_cli([*args, "--trainer.profiler", "simple"], run=False)
    assert isinstance(asked.trainer.profiler, SimpleProfiler)
    asked.trainer.fit(asked.model, datamodule=asked.datamodule)
    assert "run_training_batch" in asked.trainer.profiler.recorded_durations
