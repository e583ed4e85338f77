"""Output locations are checked before any work; a full disk ends in one line; only fit logs.

Read-only cases use ``chmod``, which does not stop root: they are skipped where the folder stays
writable, while the not-a-folder and file-as-parent cases run everywhere.
"""

from __future__ import annotations

import errno
import os
import stat
import subprocess
from pathlib import Path

import pytest
import torch
from cli_runs import run_main_captured, the_error
from pytorch_lightning.plugins.io import TorchCheckpointIO
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tiny_cli import tiny_args

from lightning_module import RecurrentClassifier
from lightning_module.cli import main

pytestmark = pytest.mark.filterwarnings("ignore:LightningCLI's args parameter")


@pytest.fixture
def read_only_folder(tmp_path):
    """An empty folder this process cannot write in: chmod for a normal user; for root, whom
    chmod does not stop, a read-only filesystem (a tmpfs mounted ``ro``)."""
    folder = tmp_path / "read_only"
    folder.mkdir()
    folder.chmod(stat.S_IRUSR | stat.S_IXUSR)
    if not os.access(folder, os.W_OK):
        yield folder
        folder.chmod(0o755)
        return
    folder.chmod(0o755)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", str(folder)], capture_output=True
    )
    if mounted.returncode != 0:
        message = "neither chmod nor a read-only mount can make a read-only folder here"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    try:
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], check=True)


def predict_args(tiny_checkpoint, tmp_path: Path, output: Path) -> list[str]:
    ckpt, data = tiny_checkpoint
    return [
        "predict",
        *tiny_args(data, tmp_path / "runs"),
        "--ckpt_path",
        str(ckpt),
        "--predictions.output",
        str(output),
    ]


def test_a_predictions_path_that_is_a_folder_is_refused_before_classifying(
    tiny_checkpoint, tmp_path, capsys
):
    folder = tmp_path / "taken"
    folder.mkdir()
    code, out, err = run_main_captured(predict_args(tiny_checkpoint, tmp_path, folder), capsys)
    assert code == 2
    assert (
        the_error(err) == f"rnn-mnist: error: predictions.output {folder} is a folder, not a file"
    )
    assert "wrote" not in out and "Restoring states" not in out + err
    assert list(folder.iterdir()) == []


def test_a_predictions_path_below_a_regular_file_is_refused(tiny_checkpoint, tmp_path, capsys):
    blocker = tmp_path / "notes.txt"
    blocker.write_text("a file")
    output = blocker / "sub" / "p.csv"
    code, _, err = run_main_captured(predict_args(tiny_checkpoint, tmp_path, output), capsys)
    assert code == 2
    assert the_error(err) == (
        f"rnn-mnist: error: the folder of predictions.output {output.parent} cannot be created: "
        f"{blocker} is a file, not a folder"
    )


def test_missing_folders_of_the_predictions_path_are_created(tiny_checkpoint, tmp_path, capsys):
    output = tmp_path / "new" / "deeper" / "p.csv"
    code, out, _ = run_main_captured(predict_args(tiny_checkpoint, tmp_path, output), capsys)
    assert code == 0
    assert f"wrote 100 rows to {output}" in out
    assert len(output.read_text().splitlines()) == 101


def test_a_read_only_predictions_folder_is_refused(
    tiny_checkpoint, tmp_path, read_only_folder, capsys
):
    output = read_only_folder / "p.csv"
    code, _, err = run_main_captured(predict_args(tiny_checkpoint, tmp_path, output), capsys)
    assert code == 2
    assert the_error(err).startswith(
        f"rnn-mnist: error: the folder of predictions.output {read_only_folder} is not writable"
    )


def fit_args(data: Path, runs: Path, *more: str) -> list[str]:
    return ["fit", *tiny_args(data, runs), "--trainer.max_epochs", "1", *more]


def test_a_run_folder_below_a_regular_file_is_refused_before_training(mnist_dir, tmp_path, capsys):
    blocker = tmp_path / "runs"
    blocker.write_text("a file")
    code, out, err = run_main_captured(fit_args(mnist_dir, blocker), capsys)
    assert code == 2
    assert the_error(err) == (
        f"rnn-mnist: error: the run folder {blocker / 'tiny'} cannot be created: {blocker} is a "
        "file, not a folder"
    )
    assert "run folder:" not in out and blocker.read_text() == "a file"


def test_a_read_only_run_folder_is_refused_before_training(mnist_dir, read_only_folder, capsys):
    code, out, err = run_main_captured(fit_args(mnist_dir, read_only_folder), capsys)
    assert code == 2
    assert the_error(err).startswith(
        f"rnn-mnist: error: the run folder {read_only_folder / 'tiny'} is not writable"
    )
    assert list(read_only_folder.iterdir()) == []


def test_a_checkpoint_dirpath_that_is_a_file_is_refused(mnist_dir, tmp_path, capsys):
    blocker = tmp_path / "ckpts"
    blocker.write_text("a file")
    args = fit_args(mnist_dir, tmp_path / "runs", "--checkpoint.dirpath", str(blocker))
    code, _, err = run_main_captured(args, capsys)
    assert code == 2
    assert "checkpoint.dirpath" in the_error(err) and "is a file, not a folder" in the_error(err)
    assert not (tmp_path / "runs").exists()


def test_a_disk_that_fills_mid_run_ends_in_one_line_and_keeps_the_last_finished_epoch(
    mnist_dir, tmp_path, capsys, monkeypatch
):
    real_save = TorchCheckpointIO.save_checkpoint
    calls = []

    def fills_up(self, checkpoint, path, storage_options=None):
        calls.append(path)
        if checkpoint["epoch"] >= 1:  # epoch 0's two checkpoints fit, epoch 1's do not
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real_save(self, checkpoint, path, storage_options=storage_options)

    monkeypatch.setattr(TorchCheckpointIO, "save_checkpoint", fills_up)
    runs = tmp_path / "runs"
    args = fit_args(mnist_dir, runs, "--trainer.max_epochs", "3", "--early_stopping.patience", "9")
    code, _, err = run_main_captured(args, capsys)
    assert code == 1
    line = the_error(err)
    folder = (runs / "tiny" / "version_0" / "checkpoints").resolve()
    assert line.startswith(f"rnn-mnist: error: no space left on the device writing {folder}/")
    assert "resume with --ckpt_path last" in line
    assert len(calls) == 3
    assert sorted(p.name for p in folder.iterdir()) == ["best.ckpt", "last.ckpt"]  # no .tmp
    last = torch.load(folder / "last.ckpt", weights_only=True)
    assert last["epoch"] == 0
    RecurrentClassifier.load_from_checkpoint(folder / "last.ckpt")


@pytest.mark.parametrize("subcommand", ["test", "validate", "predict"])
def test_only_test_logs_to_tensorboard_and_never_into_a_fit_run_folder(
    subcommand, tiny_checkpoint, tmp_path, capsys
):
    ckpt, data = tiny_checkpoint
    args = [
        subcommand,
        *tiny_args(data, tmp_path / "runs"),
        "--ckpt_path",
        str(ckpt),
        "--predictions.output",
        str(tmp_path / "p.csv"),
    ]
    code, out, _ = run_main_captured(args, capsys)
    assert code == 0
    if subcommand == "test":  # its metrics and figures, beside the fit runs
        (folder,) = (tmp_path / "runs" / "tiny" / "test").iterdir()
        assert folder.name == "version_0" and any(folder.glob("events.out.tfevents.*"))
        assert sorted(p.name for p in (tmp_path / "runs" / "tiny").iterdir()) == ["test"]
    else:
        assert not (tmp_path / "runs").exists()
    assert (subcommand == "predict") == (tmp_path / "p.csv").exists()
    printed = {"test": "test_loss", "validate": "val_loss", "predict": "wrote 100 rows"}
    assert printed[subcommand] in out


def test_fit_logs_the_learning_rate_each_epoch_as_plateau_halves_it(mnist_dir, tmp_path):
    # At lr 1e-6 an epoch improves val_loss by far less than the plateau schedule's relative
    # threshold (1e-4), so with patience 0 it halves the rate after the second epoch.
    args = fit_args(
        mnist_dir,
        tmp_path / "runs",
        "--trainer.max_epochs",
        "3",
        "--early_stopping.patience",
        "9",
        "--model.lr",
        "1e-6",
        "--model.lr_schedule",
        "plateau",
        "--model.plateau_patience",
        "0",
    )
    assert main(args) == 0
    events = EventAccumulator(str(tmp_path / "runs" / "tiny" / "version_0"))
    events.Reload()
    rates = [event.value for event in events.Scalars("lr-Adam")]
    assert rates == pytest.approx([1e-6, 1e-6, 5e-7], rel=1e-6)
