"""--ckpt_path never silently overrides the command's model: differences stop the CLI up front.

``tiny_checkpoint`` holds an LSTM with hidden_size 8. The command's architecture is what its
config's model section and its ``--model.*`` options set, even where that equals a default
(scripts/configs/lstm.yaml's hidden_size 128 is also the model's default).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_runs import run_main_captured
from tiny_cli import tiny_args

from lightning_module.cli import run_cli

pytestmark = pytest.mark.filterwarnings("ignore:LightningCLI's args parameter")

CONFIGS = Path(__file__).resolve().parents[1] / "scripts" / "configs"


def without_hidden_size(args: list[str]) -> list[str]:
    """``args`` less their ``--model.hidden_size`` option (tiny_args sets one)."""
    at = args.index("--model.hidden_size")
    return args[:at] + args[at + 2 :]


def error_lines(err: str) -> list[str]:
    return [line for line in err.splitlines() if "error" in line.lower()]


@pytest.mark.parametrize("subcommand", ["test", "predict", "validate"])
def test_a_config_of_another_architecture_is_refused_naming_each_difference(
    subcommand, tiny_checkpoint, tmp_path, capsys
):
    ckpt, data = tiny_checkpoint
    args = [
        subcommand,
        "--config",
        str(CONFIGS / "gru.yaml"),
        *without_hidden_size(tiny_args(data, tmp_path / "runs")),
        "--ckpt_path",
        str(ckpt),
        "--predictions.output",
        str(tmp_path / "out.csv"),
    ]
    code, out, err = run_main_captured(args, capsys)
    assert code == 2
    lines = error_lines(err)
    assert len(lines) == 1, err
    assert lines[0].startswith(f"rnn-mnist: error: checkpoint {ckpt} does not match the model")
    assert "cell='gru' (the checkpoint has 'lstm')" in lines[0]
    assert "hidden_size=128 (the checkpoint has 8)" in lines[0]
    assert "Drop these --model.* options" in lines[0]
    assert "Traceback" not in err and "Restoring states" not in out + err
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_an_explicit_value_equal_to_the_default_still_counts_as_the_commands(
    tiny_checkpoint, tmp_path, capsys
):
    ckpt, data = tiny_checkpoint
    args = [
        "test",
        "--config",
        str(CONFIGS / "lstm.yaml"),  # cell lstm (agrees), hidden_size 128 (the default)
        *without_hidden_size(tiny_args(data, tmp_path / "runs")),
        "--ckpt_path",
        str(ckpt),
    ]
    code, _, err = run_main_captured(args, capsys)
    assert code == 2
    (line,) = error_lines(err)
    assert "hidden_size=128 (the checkpoint has 8)" in line
    assert "cell=" not in line  # the same on both sides


def test_explicit_cell_and_hidden_size_flags_are_compared_too(tiny_checkpoint, tmp_path, capsys):
    ckpt, data = tiny_checkpoint
    args = [
        "test",
        *without_hidden_size(tiny_args(data, tmp_path / "runs")),
        "--model.cell",
        "lstm",
        "--model.hidden_size",
        "64",
        "--model.num_layers",
        "2",
        "--ckpt_path",
        str(ckpt),
    ]
    code, _, err = run_main_captured(args, capsys)
    assert code == 2
    (line,) = error_lines(err)
    assert "hidden_size=64 (the checkpoint has 8), num_layers=2 (the checkpoint has 1)" in line


def test_without_an_architecture_of_its_own_the_command_uses_the_checkpoints_and_says_so(
    tiny_checkpoint, tmp_path, capsys
):
    ckpt, data = tiny_checkpoint
    cli = run_cli(
        ["test", *without_hidden_size(tiny_args(data, None, name=None)), "--ckpt_path", str(ckpt)]
    )
    out = capsys.readouterr().out
    lines = [line for line in out.splitlines() if "checkpoint's architecture" in line]
    assert lines == [
        "using the checkpoint's architecture: cell='lstm', hidden_size=8, num_layers=1, "
        "num_classes=10, pixels_per_step=28, permute=False"
    ]
    assert cli.model.hparams.hidden_size == 8
    assert "test_acc" in cli.trainer.callback_metrics


def test_a_non_architecture_setting_of_the_command_wins_and_is_named(
    tiny_checkpoint, tmp_path, capsys
):
    ckpt, data = tiny_checkpoint
    cli = run_cli(
        [
            "test",
            *tiny_args(data, tmp_path / "runs"),
            "--model.l2_lambda",
            "0.5",
            "--ckpt_path",
            str(ckpt),
        ]
    )
    assert cli.model.hparams.l2_lambda == 0.5
    assert cli.trainer.callback_metrics["test_l2"].item() > 0
    assert "using the command's l2_lambda=0.5 (the checkpoint has 0.0)" in capsys.readouterr().out


def test_resuming_with_another_architecture_is_refused_before_any_run_folder(
    mnist_dir, tmp_path, capsys
):
    runs = tmp_path / "runs"
    run_cli(["fit", *tiny_args(mnist_dir, runs), "--trainer.max_epochs", "1"])
    before = sorted(p.name for p in (runs / "tiny").iterdir())
    code, _, err = run_main_captured(
        [
            "fit",
            *tiny_args(mnist_dir, runs),
            "--model.hidden_size",
            "16",
            "--ckpt_path",
            "last",
            "--trainer.max_epochs",
            "2",
        ],
        capsys,
    )
    assert code == 2
    (line,) = error_lines(err)
    assert "hidden_size=16 (the checkpoint has 8)" in line
    assert sorted(p.name for p in (runs / "tiny").iterdir()) == before


def test_settings_the_command_leaves_open_come_from_the_checkpoint_and_are_named(
    tiny_checkpoint, tmp_path, capsys
):
    ckpt, data = tiny_checkpoint
    args = [*without_hidden_size(tiny_args(data, None, name=None)), "--model.cell", "lstm"]
    cli = run_cli(["validate", *args, "--ckpt_path", str(ckpt)])
    out = capsys.readouterr().out
    assert "using the checkpoint's hidden_size=8 (default 128)" in out.splitlines()
    assert cli.model.hparams.hidden_size == 8
