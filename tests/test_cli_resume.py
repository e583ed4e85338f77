"""A run killed with SIGKILL resumes exactly; seeds make runs reproducible.

The killed run is a real ``python -m lightning_module.cli fit`` subprocess. ``BatchProbe`` (this
file, added through the CLI's own ``trainer.callbacks`` option, so the library has no test-only
code) records every training batch and, in the run to be killed, announces that it has reached
the chosen batch of epoch ``KILL_EPOCH`` and waits there: the test then sends SIGKILL, so the
kill always lands mid-epoch, after the previous epoch's checkpoints, whatever the machine's speed.
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
import yaml
from pytorch_lightning.callbacks import Callback
from tiny_cli import tiny_args

from lightning_module.cli import run_cli

pytestmark = pytest.mark.filterwarnings("ignore:LightningCLI's args parameter")

TESTS = Path(__file__).resolve().parent
KILL_EPOCH, KILL_BATCH = 2, 4
PATIENCE = 3  # with a huge min_delta only epoch 0 improves: early stopping ends epoch 3


class BatchProbe(Callback):
    """Append "epoch batch digest" per training batch to ``record``; optionally stop and wait.

    Args:
        record: file the lines are appended to.
        pause_epoch: epoch in which to pause (-1: never).
        pause_batch: batch of that epoch at whose start the run writes ``record + ".paused"``
            and sleeps until it is killed (only if that file does not exist yet).
    """

    def __init__(self, record: str, pause_epoch: int = -1, pause_batch: int = 0) -> None:
        self.record, self.pause_epoch, self.pause_batch = record, pause_epoch, pause_batch

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx: int) -> None:
        images, labels = batch
        digest = hashlib.sha1(images.numpy().tobytes() + labels.numpy().tobytes()).hexdigest()
        with open(self.record, "a") as handle:
            handle.write(f"{trainer.current_epoch} {batch_idx} {digest[:16]}\n")
        paused = Path(self.record + ".paused")
        if (trainer.current_epoch, batch_idx) == (self.pause_epoch, self.pause_batch) and not (
            paused.exists()  # pause once: the resumed run passes here again
        ):
            paused.touch()
            time.sleep(600)


@pytest.fixture
def restore_torch_determinism():
    """``--trainer.deterministic true`` switches torch's global flag on; switch it back after."""
    before = torch.are_deterministic_algorithms_enabled()
    yield
    torch.use_deterministic_algorithms(before)


def write_config(path: Path, data_dir: Path, root: Path, record: Path, pause_epoch: int = -1):
    """A fit config: synthetic data, a tiny LSTM with dropout, early stopping after epoch 3."""
    config = {
        "seed_everything": 7,
        "model": {"hidden_size": 8, "dropout": 0.25, "lr": 0.01},
        "data": {"data_dir": str(data_dir), "val_size": 100, "batch_size": 20, "seed": 3},
        "trainer": {
            "max_epochs": 10,
            "deterministic": True,
            "accelerator": "cpu",
            "logger": False,
            "default_root_dir": str(root),
            "enable_progress_bar": False,
            "enable_model_summary": False,
            "callbacks": [
                {
                    "class_path": "test_cli_resume.BatchProbe",
                    "init_args": {
                        "record": str(record),
                        "pause_epoch": pause_epoch,
                        "pause_batch": KILL_BATCH,
                    },
                }
            ],
        },
        "early_stopping": {"patience": PATIENCE, "min_delta": 100.0},
    }
    path.write_text(yaml.safe_dump(config))
    return path


def start_killable_fit(config: Path, log: Path) -> subprocess.Popen:
    path = os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")])
    env = {**os.environ, "PYTHONPATH": path}
    with open(log, "w") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "lightning_module.cli", "fit", "--config", str(config)],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=config.parent,
        )


def wait_for(path: Path, process: subprocess.Popen, log: Path, timeout: float = 240) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if process.poll() is not None:
            pytest.fail(
                f"the fit ended (code {process.returncode}) before pausing:\n"
                + log.read_text()[-3000:]
            )
        if time.monotonic() > deadline:
            process.kill()
            pytest.fail("the fit did not reach the pause point in time")
        time.sleep(0.05)


def records(path: Path, from_epoch: int = 0) -> list[str]:
    lines = path.read_text().splitlines()
    return [line for line in lines if int(line.split()[0]) >= from_epoch]


def load(path: Path) -> dict:
    return torch.load(path, weights_only=True, map_location="cpu")


def without_run_folders(value, roots: tuple[str, ...]):
    """``value`` with each folder in ``roots`` replaced by "<run>" in every string and key."""
    if isinstance(value, str):
        for root in roots:
            value = value.replace(root, "<run>")
        return value
    if isinstance(value, dict):
        return {
            without_run_folders(k, roots): without_run_folders(v, roots) for k, v in value.items()
        }
    if isinstance(value, (list, tuple)):
        return type(value)(without_run_folders(item, roots) for item in value)
    return value


def assert_same_tensors(a, b, where: str) -> None:
    """Equal bit for bit: tensors with torch.equal, containers recursively, the rest with ==."""
    if isinstance(a, torch.Tensor):
        assert isinstance(b, torch.Tensor) and a.dtype == b.dtype and torch.equal(a, b), where
    elif isinstance(a, dict):
        assert a.keys() == b.keys(), where
        for key in a:
            assert_same_tensors(a[key], b[key], f"{where}.{key}")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            assert_same_tensors(x, y, f"{where}[{i}]")
    else:
        assert a == b, where


def test_a_fit_killed_mid_epoch_and_resumed_from_last_equals_the_uninterrupted_run_bit_for_bit(
    mnist_dir, tmp_path, restore_torch_determinism
):
    killed_root, whole_root = tmp_path / "killed", tmp_path / "whole"
    killed_root.mkdir(), whole_root.mkdir()
    killed_record, whole_record = tmp_path / "killed.txt", tmp_path / "whole.txt"
    killed_config = write_config(
        killed_root / "fit.yaml", mnist_dir, killed_root, killed_record, pause_epoch=KILL_EPOCH
    )
    log = tmp_path / "killed.log"
    process = start_killable_fit(killed_config, log)
    try:
        # The uninterrupted run, in this process, while the other one trains.
        whole = run_cli(
            [
                "fit",
                "--config",
                str(write_config(whole_root / "fit.yaml", mnist_dir, whole_root, whole_record)),
            ]
        )
        wait_for(Path(str(killed_record) + ".paused"), process, log)
        checkpoints = killed_root / "version_0" / "checkpoints"
        assert load(checkpoints / "last.ckpt")["epoch"] == KILL_EPOCH - 1
        process.send_signal(signal.SIGKILL)
        assert process.wait(timeout=60) == -signal.SIGKILL
        killed_lines = len(records(killed_record))
    finally:
        if process.poll() is None:
            process.kill()
    assert whole.trainer.current_epoch == PATIENCE + 1  # early stopping ended it after epoch 3
    assert sorted(p.name for p in checkpoints.iterdir()) == ["best.ckpt", "last.ckpt"]
    assert load(checkpoints / "last.ckpt")["epoch"] == KILL_EPOCH - 1  # the kill wrote nothing

    resumed = run_cli(["fit", "--config", str(killed_config), "--ckpt_path", "last"])

    # Same batches in the same order before the kill and after the resume.
    whole_batches, all_batches = records(whole_record), records(killed_record)
    before_kill, after_resume = all_batches[:killed_lines], all_batches[killed_lines:]
    assert before_kill[-1].startswith(f"{KILL_EPOCH} {KILL_BATCH} ")
    assert before_kill == whole_batches[:killed_lines]
    assert after_resume == records(whole_record, KILL_EPOCH)
    # Early stopping resumed with its patience already counting: it stops at the same epoch.
    assert resumed.trainer.current_epoch == whole.trainer.current_epoch
    assert resumed.trainer.global_step == whole.trainer.global_step
    for name in ("last.ckpt", "best.ckpt"):
        a, b = load(whole_root / "version_0" / "checkpoints" / name), load(checkpoints / name)
        for key in ("epoch", "global_step", "state_dict", "optimizer_states", "loops"):
            assert_same_tensors(a[key], b[key], f"{name}:{key}")
        early_stopping = [key for key in a["callbacks"] if key.startswith("EarlyStopping")]
        assert early_stopping and a["callbacks"].keys() == b["callbacks"].keys()
        roots = (str(whole_root), str(killed_root))
        assert_same_tensors(
            without_run_folders(a["callbacks"], roots),
            without_run_folders(b["callbacks"], roots),
            f"{name}:callbacks",
        )
    assert resumed.test_results == whole.test_results  # the best checkpoint's test metrics
    assert sorted(p.name for p in killed_root.iterdir()) == ["fit.yaml", "latest", "version_0"]


class EpochMetrics(Callback):
    """The metrics after every validation and at the end of fit, as Python floats."""

    def __init__(self) -> None:
        self.epochs: list[dict[str, float]] = []

    def on_validation_end(self, trainer, pl_module) -> None:
        if not trainer.sanity_checking:
            self.epochs.append({k: v.item() for k, v in trainer.callback_metrics.items()})

    def on_fit_end(self, trainer, pl_module) -> None:
        self.epochs.append({k: v.item() for k, v in trainer.callback_metrics.items()})


def fit_metrics(mnist_dir: Path, root: Path, seed: int) -> list[dict[str, float]]:
    """Metrics of a 2-epoch fit (after each validation, at its end), then its test metrics."""
    recorder = EpochMetrics()
    cli = run_cli(
        [
            "fit",
            "--seed_everything",
            str(seed),
            *tiny_args(mnist_dir, None, name=None),
            "--model.dropout",
            "0.2",
            "--trainer.max_epochs",
            "2",
            "--trainer.logger",
            "false",
            "--trainer.default_root_dir",
            str(root),
            "--trainer.deterministic",
            "true",
        ],
        extra_callbacks=[recorder],
    )
    return [*recorder.epochs, cli.test_results[0]]


def test_the_same_seed_gives_identical_metrics_and_another_seed_different_ones(
    mnist_dir, tmp_path, restore_torch_determinism
):
    first = fit_metrics(mnist_dir, tmp_path / "a", seed=11)
    again = fit_metrics(mnist_dir, tmp_path / "b", seed=11)
    other = fit_metrics(mnist_dir, tmp_path / "c", seed=12)
    assert len(first) == 4
    assert {"train_loss", "train_acc", "val_loss", "val_acc"} <= first[2].keys()
    assert {"test_loss", "test_acc"} <= first[3].keys()
    assert first == again
    for epoch in (0, 1):
        assert first[epoch]["val_loss"] != other[epoch]["val_loss"]
    assert first[2]["train_loss"] != other[2]["train_loss"]
    assert first[3]["test_loss"] != other[3]["test_loss"]
