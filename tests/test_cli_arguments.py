"""Bad configuration and bad data files through the ``rnn-mnist`` CLI.

Each case runs ``main`` as the console script does and checks the exit code, the one-line
``error:`` message on stderr (naming the argument or file), the absence of a traceback, and
what was left on disk.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from urllib.error import URLError

import pytest
from cli_runs import files_under, run_main
from synthetic_mnist import TRAIN_IMAGES, TRAIN_LABELS
from tiny_cli import tiny_args

from data import download

pytestmark = pytest.mark.filterwarnings("ignore:LightningCLI's args parameter")


def cli_args(data_dir: Path, runs: Path) -> list[str]:
    return ["fit", *tiny_args(data_dir, runs, name=None), "--trainer.max_epochs", "1"]


BAD_SETTINGS = [
    # (option, value, what the message must say)
    ("--model.cell", "cnn", ['Parser key "model.cell"', "'rnn', 'gru', 'lstm'", "Got value: cnn"]),
    ("--model.pixels_per_step", "27", ["pixels_per_step must divide 784"]),
    ("--model.hidden_size", "0", ["hidden_size must be an integer >= 1", "got 0"]),
    ("--model.num_layers", "0", ["num_layers must be an integer >= 1", "got 0"]),
    ("--model.dropout", "1.0", ["dropout must be a probability in [0, 1)", "1.0"]),
    ("--model.dropout", "-0.1", ["dropout must be a probability in [0, 1)", "-0.1"]),
    ("--model.l2_lambda", "-0.001", ["l2_lambda must be a number >= 0", "-0.001"]),
    ("--model.lr", "0", ["lr must be a number > 0", "0"]),
    ("--model.lr", "-0.01", ["lr must be a number > 0", "-0.01"]),
    (
        "--model.num_classes",
        "5",
        ["model.num_classes=5 (from --model.num_classes): MNIST has 10 classes", "at least 10"],
    ),
    ("--data.train_fraction", "0", ["train_fraction must be a number in (0, 1]", "0"]),
    ("--data.train_fraction", "1.5", ["train_fraction must be a number in (0, 1]", "1.5"]),
    # cli_args trains 1 epoch: validating every 2nd would never validate
    (
        "--trainer.check_val_every_n_epoch",
        "2",
        ["check_val_every_n_epoch=2 never validates in trainer.max_epochs=1 epochs"],
    ),
]


@pytest.mark.parametrize(
    ("option", "value", "expected"), BAD_SETTINGS, ids=[f"{o[2:]}={v}" for o, v, _ in BAD_SETTINGS]
)
def test_a_bad_setting_is_refused_naming_it_before_any_data_is_read_or_file_written(
    option, value, expected, unreadable_data, tmp_path, capsys, monkeypatch
):
    monkeypatch.chdir(tmp_path)  # so that any default output folder would land here
    before = files_under(tmp_path)
    code, err = run_main([*cli_args(unreadable_data, tmp_path / "runs"), option, value], capsys)
    assert code == 2
    message = err[err.rindex("error:") :]  # jsonargparse prints the usage text first
    for text in expected:
        assert text in message, (text, err)
    assert "Traceback" not in err
    assert "IDX" not in err and "magic" not in err  # refused before the data was read
    assert files_under(tmp_path) == before
    assert not (tmp_path / "runs").exists()


def test_the_console_script_prints_one_error_line_and_exits_2_for_a_bad_setting(tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "lightning_module.cli",
            "fit",
            "--data.data_dir",
            str(tmp_path),
            "--model.hidden_size",
            "-4",
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=300,
    )
    assert result.returncode == 2
    errors = [line for line in result.stderr.splitlines() if "error" in line.lower()]
    assert errors == ["rnn-mnist: error: hidden_size must be an integer >= 1, got -4"]
    assert "Traceback" not in result.stderr
    assert list(tmp_path.iterdir()) == []


def damage(mnist_dir: Path, fault: str) -> str:
    """Break the training images file as ``fault`` says; return what the error must name."""
    path = mnist_dir / "MNIST" / "raw" / TRAIN_IMAGES
    blob = path.read_bytes()
    if fault == "missing":
        path.unlink()
        return "MNIST not found"
    if fault == "truncated":
        path.write_bytes(blob[: len(blob) // 2])
        return f"{path}: truncated"
    if fault == "corrupt header":
        path.write_bytes(b"\x00\x00\x08\x01" + blob[4:])  # a labels magic number on images
        return f"{path}: wrong magic number 2049 (expected 2051)"
    if fault == "bad label":
        labels = mnist_dir / "MNIST" / "raw" / TRAIN_LABELS
        labels.write_bytes(labels.read_bytes()[:8] + bytes([11]) + labels.read_bytes()[9:])
        return f"{labels}: label 11 at index 0 is not a digit 0..9"
    raise ValueError(fault)


@pytest.mark.parametrize("fault", ["missing", "truncated", "corrupt header", "bad label"])
def test_a_data_fault_gives_the_data_modules_error_exit_1_and_no_checkpoint_or_config(
    fault, mnist_dir, tmp_path, capsys, monkeypatch
):
    def offline(self):
        raise URLError("no network (test)")

    monkeypatch.setattr(download._RawDownloader, "download", offline)  # a missing file: offline
    expected = damage(mnist_dir, fault)
    code, err = run_main(cli_args(mnist_dir, tmp_path / "runs"), capsys)
    assert code == 1
    assert f"rnn-mnist: error: {expected}" in err
    assert "Traceback" not in err
    if fault != "missing":  # present files are read before the run folder is claimed
        assert not (tmp_path / "runs").exists()
    # A missing file is downloaded (here: fails offline) inside the fit, after the run folder
    # was claimed: Lightning finalises the logger when a run fails, which leaves one event file
    # with no data in it; no checkpoint, no config.yaml, no hparams.yaml.
    left = files_under(tmp_path / "runs")
    assert len(left) <= 1, left
    assert all(
        re.fullmatch(r"rnn-mnist/version_0/events\.out\.tfevents\.[^/]+", name) for name in left
    ), left


def test_the_command_returns_mains_status(monkeypatch):
    from lightning_module import cli

    monkeypatch.setattr(cli, "main", lambda: 3)
    assert cli.command() == 3
