"""Every way a fit ends is reported: a fit stopped by SIGTERM or Ctrl-C exits non-zero with one
line saying how to resume (or that no epoch finished, so there is nothing to resume) and runs no
post-fit test; a checkpoint holding NaN/inf weights is refused naming the file."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
import yaml
from cli_process import checksums, cli_env, error_lines, rnn_mnist
from pytorch_lightning.callbacks import Callback
from tiny_cli import tiny_args


class PauseAt(Callback):
    """At the start of batch 1 of ``epoch`` write ``marker`` and wait for a signal: a SIGTERM
    (Lightning's handler sets ``trainer.received_sigterm``) or a Ctrl-C (KeyboardInterrupt)."""

    def __init__(self, marker: str, epoch: int) -> None:
        self.marker, self.epoch = marker, epoch

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx: int) -> None:
        if (trainer.current_epoch, batch_idx) != (self.epoch, 1):
            return
        Path(self.marker).touch()
        deadline = time.monotonic() + 300
        while not trainer.received_sigterm and time.monotonic() < deadline:
            time.sleep(0.05)


# The CLI as ``python -m lightning_module.cli`` runs it, with Python's Ctrl-C handler installed
# explicitly: a non-interactive shell starts ``&`` jobs (a test run in the background) with
# SIGINT ignored, and Python then leaves it ignored, as it does for any inherited SIG_IGN.
RUN_CLI_WITH_CTRL_C = (
    "import runpy, signal; signal.signal(signal.SIGINT, signal.default_int_handler); "
    "runpy.run_module('lightning_module.cli', run_name='__main__', alter_sys=True)"
)


def start_fit(tmp_path: Path, data: Path, pause_epoch: int) -> tuple[subprocess.Popen, Path]:
    marker = tmp_path / "paused"
    config = tmp_path / "fit.yaml"
    callback = {
        "class_path": "test_cli_faults_endings.PauseAt",
        "init_args": {"marker": str(marker), "epoch": pause_epoch},
    }
    config.write_text(yaml.safe_dump({"trainer": {"callbacks": [callback]}}))
    args = ["fit", "--config", str(config), *tiny_args(data, tmp_path / "runs")]
    args += ["--trainer.max_epochs", "20", "--early_stopping.patience", "20"]
    process = subprocess.Popen(
        [sys.executable, "-c", RUN_CLI_WITH_CTRL_C, *args],
        cwd=tmp_path,
        env=cli_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 240
    while not marker.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            out, err = process.communicate()
            pytest.fail(f"the fit never paused (code {process.returncode}):\n{out}\n{err}")
        time.sleep(0.05)
    return process, tmp_path / "runs" / "tiny" / "version_0" / "checkpoints"


@pytest.mark.parametrize(
    ("sent", "name", "status"),
    [(signal.SIGTERM, "SIGTERM", 143), (signal.SIGINT, "Ctrl-C", 1)],
)
def test_a_fit_stopped_by_a_signal_exits_nonzero_and_says_resume_with_last(
    mnist_dir, tmp_path, sent, name, status
):
    process, checkpoints = start_fit(tmp_path, mnist_dir, pause_epoch=1)
    before = checksums(checkpoints)
    assert sorted(before) == ["best.ckpt", "last.ckpt"]
    process.send_signal(sent)
    out, err = process.communicate(timeout=120)
    assert process.returncode == status, err
    assert error_lines(err) == [
        f"rnn-mnist: error: fit interrupted ({name}): resume with --ckpt_path last "
        f"({checkpoints.resolve() / 'last.ckpt'} holds the last finished epoch)"
    ], err
    assert "testing the" not in out and "test_acc" not in out  # no post-fit test
    assert checksums(checkpoints) == before  # epoch 0's checkpoints, untouched
    assert torch.load(checkpoints / "last.ckpt", weights_only=True)["epoch"] == 0


def test_a_fit_stopped_in_its_first_epoch_says_there_is_nothing_to_resume(mnist_dir, tmp_path):
    process, checkpoints = start_fit(tmp_path, mnist_dir, pause_epoch=0)
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=120)
    assert process.returncode == 143, err
    assert error_lines(err) == [
        "rnn-mnist: error: fit interrupted (SIGTERM) before its first epoch finished: no "
        "checkpoint was written, so there is nothing to resume; start the fit again"
    ], err
    assert checkpoints.parent.is_dir()  # the run started, in the folder looked at
    assert not list((tmp_path / "runs").rglob("*.ckpt")) and "testing the" not in out


@pytest.mark.parametrize("command", ["predict", "test"])
@pytest.mark.parametrize("value", [float("nan"), float("inf")])
def test_a_checkpoint_with_non_finite_weights_is_refused_in_one_line_naming_it(
    tiny_checkpoint, tmp_path, value, command
):
    ckpt, data = tiny_checkpoint
    checkpoint = torch.load(ckpt, weights_only=True)
    checkpoint["state_dict"]["net.head.weight"][0, 0] = value
    broken = tmp_path / "diverged.ckpt"
    torch.save(checkpoint, broken)
    output = tmp_path / "predictions.csv"
    before = checksums(tmp_path)
    result = rnn_mnist(
        command,
        *tiny_args(data, tmp_path / "runs"),
        "--ckpt_path", str(broken),
        "--predictions.output", str(output),
        cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 1, result.stderr  # as every other unusable checkpoint
    assert error_lines(result.stderr) == [
        f"rnn-mnist: error: checkpoint {broken} holds non-finite weights (NaN or inf) in "
        "net.head.weight: it was saved from a diverged run and would predict nothing "
        "meaningful; use an earlier checkpoint"
    ], result.stderr
    assert "Traceback" not in result.stderr
    assert checksums(tmp_path) == before  # no predictions, no test logs
