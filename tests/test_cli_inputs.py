"""Values the parser accepts but a run could not use are refused before any work; --version.

Each refusal is one ``rnn-mnist: error:`` line, exit status 2 (a bad argument) or 1 (bad data),
with no run folder created: nothing trained first.
"""

from __future__ import annotations

from importlib.metadata import version

import pytest
from cli_runs import run_main_captured, the_error
from synthetic_mnist import TEST_IMAGES
from tiny_cli import tiny_args

pytestmark = pytest.mark.filterwarnings("ignore:LightningCLI's args parameter")


REFUSED = [
    (
        ["--data.val_size", "0"],
        "rnn-mnist: error: val_size must be >= 1, got 0: the validation loss decides early "
        "stopping",
    ),
    (
        ["--early_stopping.monitor", "val_los"],
        "rnn-mnist: error: early_stopping.monitor must be one of ('val_loss'",
    ),
    (
        ["--checkpoint.monitor", "test_acc"],
        "rnn-mnist: error: checkpoint.monitor must be one of ('val_loss'",
    ),
    (
        ["--trainer.limit_val_batches", "0"],
        "rnn-mnist: error: trainer.limit_val_batches=0 turns validation off",
    ),
]


@pytest.mark.parametrize(("extra", "expected"), REFUSED, ids=[r[0][0][2:] for r in REFUSED])
def test_a_setting_the_fit_could_not_use_is_refused_before_any_work(
    extra, expected, mnist_dir, tmp_path, capsys
):
    runs = tmp_path / "runs"
    code, out, err = run_main_captured(
        ["fit", *tiny_args(mnist_dir, runs), "--trainer.max_epochs", "1", *extra], capsys
    )
    assert code == 2
    assert the_error(err).startswith(expected)
    assert not runs.exists() and "run folder:" not in out


def test_a_truncated_test_file_stops_fit_before_training(mnist_dir, tmp_path, capsys):
    path = mnist_dir / "MNIST" / "raw" / TEST_IMAGES
    path.write_bytes(path.read_bytes()[:5000])
    runs = tmp_path / "runs"
    code, out, err = run_main_captured(
        ["fit", *tiny_args(mnist_dir, runs), "--trainer.max_epochs", "1"], capsys
    )
    assert code == 1
    assert the_error(err).startswith(f"rnn-mnist: error: {path}: truncated")
    assert not runs.exists()  # checked before the run folder, so before any epoch
    assert "Epoch" not in out


def test_version_prints_the_package_version_and_exits_0(capsys):
    code, out, err = run_main_captured(["--version"], capsys)
    assert code == 0
    assert out == f"rnn-mnist {version('rnn-mnist')}\n"
    assert err == ""
