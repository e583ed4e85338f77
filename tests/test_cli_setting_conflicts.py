"""``fit`` settings that defeat each other are refused before any work, naming both settings
and the file or option that set each; a consistent merge still reaches the data.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from cli_process import rnn_mnist
from cli_runs import files_under, run_main
from scripts_loader import CONFIG_DIR
from tiny_cli import tiny_args

pytestmark = pytest.mark.filterwarnings("ignore:LightningCLI's args parameter")

FAST = str(CONFIG_DIR / "fast.yaml")
LSTM = str(CONFIG_DIR / "lstm.yaml")
FAST_EPOCHS = yaml.safe_load(Path(FAST).read_text())["trainer"]["check_val_every_n_epoch"]
MERGED = (
    f"early_stopping.monitor=val_loss (from {LSTM}) is a loss, best when lowest, but "
    f"early_stopping.mode=max (from {FAST}) asks for its maximum: early stopping would end the "
    "fit while val_loss still improves (several --config files merge key by key: this mixes "
    "two recipes); set --early_stopping.mode min"
)
EARLY_STOPPING_CALLBACK = """\
trainer:
  callbacks:
    - class_path: pytorch_lightning.callbacks.EarlyStopping
      init_args:
        monitor: val_acc
        mode: min
"""

# (options, what the one error line must start with, after "rnn-mnist: error: ")
CONFLICTS = [
    (["--config", FAST, "--config", LSTM], MERGED),
    (
        ["--early_stopping.monitor", "val_acc"],
        "early_stopping.monitor=val_acc (from --early_stopping.monitor) is an accuracy, best "
        "when highest, but early_stopping.mode=min (from the default) asks for its minimum",
    ),
    (
        ["--config", FAST, "--early_stopping.monitor", "val_loss"],
        "early_stopping.monitor=val_loss (from --early_stopping.monitor) is a loss, best when "
        f"lowest, but early_stopping.mode=max (from {FAST}) asks for its maximum",
    ),
    (
        ["--early_stopping.mode", "max", "--config", LSTM],
        f"early_stopping.monitor=val_loss (from {LSTM}) is a loss, best when lowest, but "
        "early_stopping.mode=max (from --early_stopping.mode)",
    ),
    (
        ["--checkpoint.mode", "max"],
        "checkpoint.monitor=val_loss (from the default) is a loss, best when lowest, but "
        "checkpoint.mode=max (from --checkpoint.mode) asks for its maximum: best.ckpt would "
        "keep the epoch where val_loss is worst; set --checkpoint.mode min",
    ),
    (
        ["--checkpoint", '{"monitor": "train_acc"}'],
        "checkpoint.monitor=train_acc (from --checkpoint) is an accuracy",
    ),
    (
        ["--config", "callbacks.yaml"],
        "EarlyStopping.monitor=val_acc (from trainer.callbacks) is an accuracy, best when "
        "highest, but EarlyStopping.mode=min (from trainer.callbacks) asks for its minimum: "
        "early stopping would end the fit while val_acc still improves; set its mode: max",
    ),
    (
        ["--trainer.min_epochs", "5", "--trainer.max_epochs", "3"],
        "trainer.min_epochs=5 (from --trainer.min_epochs) is more than trainer.max_epochs=3 "
        "(from --trainer.max_epochs): the fit stops at max_epochs",
    ),
    (
        ["--trainer.min_steps", "50", "--trainer.max_steps", "10"],
        "trainer.min_steps=50 (from --trainer.min_steps) is more than trainer.max_steps=10",
    ),
    (
        ["--model.lr_schedule", "plateau", "--trainer.check_val_every_n_epoch", "2"],
        "model.lr_schedule=plateau (from --model.lr_schedule) lowers the learning rate on each "
        "epoch's val_loss, but trainer.check_val_every_n_epoch=2 (from "
        "--trainer.check_val_every_n_epoch) validates only every 2 epochs",
    ),
    (
        # fast.yaml's one validation at the end with lstm.yaml's plateau schedule
        ["--config", FAST, "--config", LSTM, "--early_stopping.mode", "min"],
        f"model.lr_schedule=plateau (from {LSTM}) lowers the learning rate on each epoch's "
        f"val_loss, but trainer.check_val_every_n_epoch={FAST_EPOCHS} (from {FAST}) validates only "
        f"every {FAST_EPOCHS} "
        "epochs, so the schedule would find no val_loss (several --config files merge key by "
        "key: this mixes two recipes)",
    ),
    (
        ["--model.lr_schedule", "onecycle", "--trainer.max_epochs", "-1"],
        "model.lr_schedule=onecycle (from --model.lr_schedule) spreads the learning rate over "
        "the whole fit, but trainer.max_epochs=-1 (from --trainer.max_epochs) and "
        "trainer.max_steps=-1 (from the default) set no end",
    ),
    (
        ["--model.pixels_per_step", "56", "--model.tbptt_steps", "20"],
        "tbptt_steps=20 is more than the 14 steps that pixels_per_step=56 makes of an image",
    ),
]


def fit(options: list[str], data: Path, runs: Path) -> list[str]:
    # the options first, so that a --config among them comes before tiny_args' overrides
    return ["fit", *options, *tiny_args(data, runs, name=None)]


@pytest.mark.parametrize(
    ("options", "expected"), CONFLICTS, ids=[" ".join(c[0])[-60:] for c in CONFLICTS]
)
def test_settings_that_defeat_each_other_are_refused_naming_both_before_any_work(
    options, expected, unreadable_data, tmp_path, capsys, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "callbacks.yaml").write_text(EARLY_STOPPING_CALLBACK)
    before = files_under(tmp_path)
    code, err = run_main(fit(options, unreadable_data, tmp_path / "runs"), capsys)
    assert code == 2
    assert err.startswith(f"rnn-mnist: error: {expected}"), err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert files_under(tmp_path) == before  # nothing written, the data never read
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize(
    "options",
    [
        [*("--config", FAST, "--config", LSTM), "--early_stopping.mode", "min"]
        + ["--trainer.check_val_every_n_epoch", "1"],
        ["--early_stopping.monitor", "val_acc", "--early_stopping.mode", "max"],
        ["--model.lr_schedule", "plateau", "--trainer.min_epochs", "3"],
        ["--model.pixels_per_step", "56", "--model.tbptt_steps", "14"],
    ],
    ids=["merge-fixed", "val_acc-max", "plateau-min_epochs", "tbptt-equal"],
)
def test_consistent_settings_pass_the_checks_and_reach_the_data(
    options, unreadable_data, tmp_path, capsys
):
    code, err = run_main(fit(options, unreadable_data, tmp_path / "runs"), capsys)
    assert code == 1
    assert "not an IDX file" in err or "magic" in err, err  # refused by the data, not a check


def test_the_console_script_refuses_the_merged_monitor_and_mode_of_two_recipes(tmp_path):
    result = rnn_mnist("fit", "--config", FAST, "--config", LSTM, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr == f"rnn-mnist: error: {MERGED}\n"
    assert list(tmp_path.iterdir()) == []
