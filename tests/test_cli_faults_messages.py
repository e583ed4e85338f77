"""Messages that point the right way, each checked on the real command: a full disk names the
full folder, its free space and only advice that fits what is on disk; a bad argument (an
impossible model size, a run name leaving the run root, an unusable pretrained name, a busy
port or unknown host for the demo) is one line with exit status 2 before any file is written;
``test`` needs only the test files; every entry predict skips gets a CSV row saying why (blank and
unreadable images: tests/test_cli_predict_faults.py)."""

from __future__ import annotations

import csv
import errno
import os
import re
import shutil
import socket

import pytest
import torch
import yaml
from cli_process import checksums, error_lines, rnn_mnist
from PIL import Image
from pytorch_lightning.plugins.io import TorchCheckpointIO
from synthetic_mnist import synthetic_digits
from tiny_cli import tiny_args

from data.idx import TRAIN_IMAGES, TRAIN_LABELS, raw_folder
from lightning_module.network_size import parameter_count
from lightning_module.training.checkpoint_io import AtomicTorchCheckpointIO

# -- a full disk ------------------------------------------------------------------------------


class FillsUp(TorchCheckpointIO):
    """Runs out of space writing any checkpoint of epoch ``full_from`` or later, naming a file
    elsewhere (as a library's own temporary file would)."""

    def __init__(self, full_from: int = 1) -> None:
        self.full_from = full_from

    def save_checkpoint(self, checkpoint, path, storage_options=None) -> None:
        if checkpoint["epoch"] >= self.full_from:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), "/elsewhere/.lib.tmp")
        super().save_checkpoint(checkpoint, path, storage_options=storage_options)


class FullDiskIO(AtomicTorchCheckpointIO, FillsUp):
    """The project's atomic checkpoint writer on a disk that fills up at epoch ``full_from``."""


@pytest.mark.parametrize("full_from", [1, 0])
def test_a_full_disk_names_the_full_folder_its_free_space_and_fitting_advice(
    mnist_dir, tmp_path, full_from
):
    config = tmp_path / "full.yaml"
    plugin = {"class_path": "test_cli_faults_messages.FullDiskIO", "init_args": {}}
    plugin["init_args"]["full_from"] = full_from
    config.write_text(yaml.safe_dump({"trainer": {"plugins": [plugin]}}))
    runs = tmp_path / "runs"
    result = rnn_mnist(
        "fit", "--config", str(config), *tiny_args(mnist_dir, runs),
        "--trainer.max_epochs", "3", "--early_stopping.patience", "9",
        cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 1, result.stderr
    (line,) = error_lines(result.stderr)
    folder = (runs / "tiny" / "version_0" / "checkpoints").resolve()
    written = re.escape(str(folder))
    pattern = (
        rf"rnn-mnist: error: no space left on the device writing {written}/(best|last)\.ckpt "
        rf"\(No space left on device\): {written} has [\d.]+ (GB|MB|kB) free; "
    )
    assert re.match(pattern, line), line
    assert "testing the" not in result.stdout
    if full_from == 1:
        assert line.endswith(
            f"then resume with --ckpt_path last ({folder / 'last.ckpt'} holds the last finished "
            "epoch)"
        ), line
        assert sorted(checksums(folder)) == ["best.ckpt", "last.ckpt"]  # no temporary file left
        assert torch.load(folder / "last.ckpt", weights_only=True)["epoch"] == 0
    else:
        assert "--ckpt_path last" not in line
        assert line.endswith("so there is nothing to resume: free some space, then run the "
                             "command again"), line  # fmt: skip
        assert checksums(folder) == {}


# -- bad arguments: one line, exit 2, nothing written ----------------------------------------

BAD_ARGUMENTS = {
    "an impossible model size": (
        ["fit", "--model.hidden_size", "1000000"],
        r"rnn-mnist: error: hidden_size=1000000 with cell='lstm', num_layers=1 makes 4\.00e\+12 "
        r"parameters: 16,000\.\d GB of float32 weights \(training needs about "
        r"64,00\d\.\d GB\), more than this machine's [\d,.]+ GB of memory; choose a smaller "
        r"hidden_size or num_layers",
    ),
    "a run name climbing out": (
        ["fit", "--trainer.logger.init_args.name", "../escaped"],
        r"rnn-mnist: error: trainer\.logger\.init_args\.name '\.\./escaped' climbs out with "
        r"'\.\.': a run name is a folder name inside the logger's save_dir; .*save_dir instead",
    ),
    "an absolute run name": (  # ABSOLUTE: a folder of the test's own, never a shared one
        ["fit", "--trainer.logger.init_args.name", "ABSOLUTE"],
        r"rnn-mnist: error: trainer\.logger\.init_args\.name 'ABSOLUTE' is an absolute path",
    ),
    "a run version climbing out": (
        ["test", "--trainer.logger.init_args.version", "a/../../b"],
        r"rnn-mnist: error: trainer\.logger\.init_args\.version 'a/\.\./\.\./b' climbs out",
    ),
    "a pretrained model resuming a fit": (
        ["fit", "--ckpt_path", "pretrained:lstm"],
        r"rnn-mnist: error: --ckpt_path pretrained:lstm: pretrained models hold weights only "
        r"and cannot resume a fit",
    ),
    "an unknown pretrained model": (
        ["test", "--ckpt_path", "pretrained:bert"],
        r"rnn-mnist: error: --ckpt_path pretrained:bert: unknown pretrained model 'bert' "
        r"\(known: gru, lstm, practical, rnn\)",
    ),
}


@pytest.mark.parametrize("case", BAD_ARGUMENTS)
def test_a_bad_argument_is_one_line_with_exit_2_before_anything_is_written(
    mnist_dir, tmp_path, case
):
    (command, *options), expected = BAD_ARGUMENTS[case]
    absolute = str(tmp_path / "escaped")
    options = [option.replace("ABSOLUTE", absolute) for option in options]
    expected = expected.replace("ABSOLUTE", re.escape(absolute))
    work = tmp_path / "work"
    work.mkdir()
    before = checksums(tmp_path)
    # the run name comes from the options: tiny_args gives none
    args = [command, *tiny_args(mnist_dir, work / "runs", name=None), *options]
    result = rnn_mnist(*args, cwd=work)
    assert result.returncode == 2, result.stderr
    lines = error_lines(result.stderr)
    assert len(lines) == 1 and re.match(expected, lines[0]), result.stderr
    assert "Traceback" not in result.stderr
    assert checksums(tmp_path) == before and list(work.iterdir()) == []
    assert not (tmp_path / "escaped").exists()


def test_the_parameter_count_is_the_one_torch_allocates():
    from lightning_module.network import SequenceClassifierNet

    for cell in ("rnn", "gru", "lstm"):
        for layers, pixels in ((1, 28), (2, 16)):
            net = SequenceClassifierNet(cell, 6, layers, pixels_per_step=pixels, num_classes=10)
            allocated = sum(p.numel() for p in net.parameters())
            assert parameter_count(cell, 6, layers, pixels, 10) == allocated, (cell, layers)


def test_the_model_says_to_scale_integer_images_to_floats():
    from lightning_module.model import RecurrentClassifier

    model = RecurrentClassifier(hidden_size=4)
    with pytest.raises(ValueError, match=r"floating point in \[0, 1\], got dtype torch\.uint8: "):
        model(torch.zeros(2, 28, 28, dtype=torch.uint8))
    assert model(torch.zeros(2, 28, 28)).shape == (2, 10)  # floats still work


# -- the demo's address -----------------------------------------------------------------------


def test_the_demo_refuses_a_busy_port_or_unknown_host_before_announcing(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        taken = rnn_mnist("demo", "--port", str(port), cwd=tmp_path)
    unknown = rnn_mnist("demo", "--host", "no-such-host.invalid", cwd=tmp_path)
    for result, option in ((taken, "--port"), (unknown, "--host")):
        assert result.returncode == 2, result.stderr
        lines = error_lines(result.stderr, prefix="rnn-mnist demo: error:")
        assert lines == result.stderr.strip().splitlines() and len(lines) == 1, result.stderr
        assert lines[0].startswith(f"rnn-mnist demo: error: argument {option}: ")
        assert f"with {option}" in lines[0]
        assert "serving on" not in result.stdout
    assert f"port {port} on 127.0.0.1 is already in use" in taken.stderr
    assert "'no-such-host.invalid' is not an address or known host name" in unknown.stderr
    assert list(tmp_path.iterdir()) == []


# -- test reads only the test files -----------------------------------------------------------


def test_test_runs_with_only_the_test_files_present(tiny_checkpoint, tmp_path):
    ckpt, data = tiny_checkpoint
    only_test = shutil.copytree(data, tmp_path / "data")
    for name in (TRAIN_IMAGES, TRAIN_LABELS):
        (raw_folder(only_test) / name).unlink()
    before = checksums(only_test)
    args = ["test", *tiny_args(only_test, tmp_path / "runs"), "--ckpt_path", str(ckpt)]
    result = rnn_mnist(*args, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "test_acc" in result.stdout
    assert checksums(only_test) == before  # nothing downloaded


# -- every entry predict skips is a row saying why --------------------------------------------


def test_predict_reports_each_entry_it_skips(tiny_checkpoint, tmp_path):
    ckpt, data = tiny_checkpoint
    folder = tmp_path / "digits"
    (folder / "seven.png").mkdir(parents=True)  # a folder named like an image
    digits, _ = synthetic_digits(2, seed=3)
    Image.fromarray(digits[0]).save(folder / "digit.png")
    Image.fromarray(digits[1]).save(folder / "seven.png" / "inside.png")
    (folder / "moved.png").symlink_to(tmp_path / "gone.png")
    os.mkfifo(folder / "pipe.png")
    before = checksums(folder)
    output = tmp_path / "predictions.csv"
    result = rnn_mnist(
        "predict", *tiny_args(data, tmp_path / "runs"),
        "--ckpt_path", str(ckpt),
        "--data.predict_dir", str(folder),
        "--predictions.output", str(output),
        cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 1, result.stderr  # something could not be classified
    with open(output, newline="") as handle:
        rows = {row["source"]: row for row in csv.DictReader(handle)}
    reasons = {
        "moved.png": f"a broken symbolic link (its target {tmp_path / 'gone.png'} does not exist)",
        "pipe.png": "a FIFO (named pipe), not a regular file: not read",
        "seven.png": "a folder named like an image, not an image (its files are listed on their "
        "own)",
    }
    assert set(rows) == {"digit.png", "seven.png/inside.png", *reasons}
    for name in ("digit.png", "seven.png/inside.png"):
        assert rows[name]["error"] == "" and rows[name]["prediction"].isdigit()
    for name, reason in reasons.items():
        assert (rows[name]["prediction"], rows[name]["error"]) == ("", reason)
        assert f"could not classify {name}: {reason}" in result.stderr.splitlines()
    assert checksums(folder) == before
