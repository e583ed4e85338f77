"""What a user sees around a run: help, where test logs go, no advertising, errors on a line of
their own, and a clean hparams.yaml."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from pytorch_lightning import Callback
from tiny_cli import tiny_args

from lightning_module.cli import main, run_cli
from lightning_module.training import progress
from lightning_module.training.progress import own_line

pytestmark = pytest.mark.filterwarnings("ignore:LightningCLI's args parameter")


def test_help_lists_the_demo_command():
    result = subprocess.run(
        [sys.executable, "-m", "lightning_module.cli", "--help"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "rnn-mnist demo" in result.stdout


def test_every_model_option_of_fit_help_says_what_it_does():
    import inspect
    import re

    from lightning_module import RecurrentClassifier

    result = subprocess.run(
        [sys.executable, "-m", "lightning_module.cli", "fit", "--help"],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "COLUMNS": "200"},
    )
    described = {}
    for name, text in re.findall(
        r"^  --model\.(\w+)[^\n]*\n((?:\s{10,}[^\n]*\n)*)", result.stdout, re.M
    ):
        described[name] = " ".join(text.split())
    parameters = set(inspect.signature(RecurrentClassifier).parameters)
    assert set(described) == parameters
    for name, text in described.items():
        assert not text.startswith("(type:"), f"--model.{name} has no help: {text}"
    assert described["num_classes"].startswith("C, the number of classes the head scores")


def test_a_fit_prints_no_lightning_tip_and_its_hparams_have_no_instantiator(
    mnist_dir, tmp_path, capfd
):
    cli = run_cli(["fit", *tiny_args(mnist_dir, tmp_path / "runs"), "--trainer.max_epochs", "1"])
    captured = capfd.readouterr()
    assert "Tip:" not in captured.out + captured.err
    assert "litlogger" not in captured.out + captured.err
    hparams = (cli.run_folder / "hparams.yaml").read_text()
    assert "hidden_size: 8" in hparams
    assert "_instantiator" not in hparams


def test_test_prints_where_it_wrote_its_tensorboard_files(tiny_checkpoint, tmp_path, capsys):
    ckpt, data = tiny_checkpoint
    code = main(["test", *tiny_args(data, tmp_path / "runs"), "--ckpt_path", str(ckpt)])
    assert code == 0
    lines = [line for line in capsys.readouterr().out.splitlines() if "TensorBoard logs:" in line]
    assert len(lines) == 1
    folder = lines[0].split("TensorBoard logs: ")[1].split()[0]
    assert folder == str(tmp_path / "runs" / "tiny" / "test" / "version_0")
    assert any(p.name.startswith("events.out.tfevents") for p in (tmp_path / "runs").rglob("*"))


def test_an_error_starts_on_its_own_line_while_a_bar_is_drawn(monkeypatch):
    monkeypatch.setitem(progress._drawing, "bar", True)
    assert own_line() == "\n"
    monkeypatch.setitem(progress._drawing, "bar", False)
    assert own_line() == ""


def test_the_bar_counts_as_drawn_during_a_fit_and_not_after_it(mnist_dir, tmp_path):
    seen: list[bool] = []

    class Spy(Callback):
        def on_train_batch_end(self, *args, **kwargs):
            seen.append(progress.drawing_a_bar())

    args = tiny_args(mnist_dir, tmp_path / "runs")
    args[args.index("--trainer.enable_progress_bar") + 1] = "true"
    run_cli(["fit", *args, "--trainer.max_epochs", "1"], extra_callbacks=[Spy()])
    assert seen and all(seen)
    assert not progress.drawing_a_bar()
