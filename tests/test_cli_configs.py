"""Every YAML config in scripts/configs parses, instantiates and runs one batch through the CLI."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from pytorch_lightning.callbacks import EarlyStopping
from pytorch_lightning.loggers import TensorBoardLogger
from scripts_loader import CONFIG_DIR
from tiny_cli import tiny_args

from lightning_module.cli import run_cli

pytestmark = pytest.mark.filterwarnings("ignore:LightningCLI's args parameter")

CONFIGS = sorted(CONFIG_DIR.glob("*.yaml"))


def test_the_documented_configs_exist():
    assert {path.stem for path in CONFIGS} >= {
        "fast",
        "rnn",
        "lstm",
        "gru",
        "practical",
        "pixel_lstm",
        "permuted_pixel_lstm",
    }


def run_one_batch(config: Path, data_dir: Path, tmp_path: Path):
    """fast_dev_run of ``config`` on the synthetic data with a tiny hidden size (the configured
    sizes are checked without training in test_config_sets_the_documented_model)."""
    return run_cli(
        [
            "fit",
            "--config",
            str(config),
            *tiny_args(data_dir, tmp_path / "runs", name=None, batch_size=10),
            "--trainer.fast_dev_run",
            "true",
        ]
    )


@pytest.mark.parametrize("config", CONFIGS, ids=[path.stem for path in CONFIGS])
def test_config_runs_one_batch_and_is_configured_to_log_under_its_own_name(
    config, mnist_dir, tmp_path
):
    # oneDNN builds an RNN kernel per new (batch, steps) shape, which takes seconds for the
    # 784-step configs and would dominate this one-batch run.
    with torch.backends.mkldnn.flags(enabled=False):
        cli = run_one_batch(config, mnist_dir, tmp_path)
    assert cli.config.fit.trainer.logger.init_args.name == config.stem
    assert cli.config.fit.trainer.logger.class_path.endswith("TensorBoardLogger")
    # the practical's cap, except where a schedule or the notebook's small run sets the length
    assert cli.config.fit.trainer.max_epochs == {"fast": 7, "notebook": 2}.get(config.stem, 100)
    assert "test_acc" in cli.test_results[0]


EXPECTED = {
    "practical": dict(
        cell="rnn",
        hidden_size=256,
        l2_lambda=1e-3,
        l2_scope="output",
        lr=1e-3,
        head_init="practical",
        lr_schedule="constant",
        pixels_per_step=28,
    ),
    "rnn": dict(cell="rnn", hidden_size=256, pixels_per_step=28),
    "lstm": dict(cell="lstm", hidden_size=128, pixels_per_step=28),
    "gru": dict(cell="gru", hidden_size=128, pixels_per_step=28),
    "fast": dict(
        cell="gru", hidden_size=160, pixels_per_step=56, lr_schedule="onecycle", augment_shift=1
    ),
    "pixel_lstm": dict(cell="lstm", hidden_size=128, pixels_per_step=1, permute=False),
    "permuted_pixel_lstm": dict(cell="lstm", hidden_size=128, pixels_per_step=1, permute=True),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_config_sets_the_documented_model(name, tmp_path):
    config = CONFIGS[[path.stem for path in CONFIGS].index(name)]
    cli = run_cli(
        ["--config", str(config), "--trainer.logger.init_args.save_dir", str(tmp_path)], run=False
    )
    assert isinstance(cli.trainer.logger, TensorBoardLogger)
    assert cli.trainer.logger.name == name
    for key, value in EXPECTED[name].items():
        assert cli.model.hparams[key] == value, key
    early_stopping = next(c for c in cli.trainer.callbacks if isinstance(c, EarlyStopping))
    if name == "fast":  # the schedule sets the length; one validation, after the last epoch
        assert cli.datamodule.batch_size == 256
        assert (early_stopping.monitor, early_stopping.mode) == ("val_acc", "max")
        assert cli.trainer.check_val_every_n_epoch == cli.trainer.max_epochs == 7
        assert cli.datamodule.val_size == 1000
        assert cli.trainer.num_sanity_val_steps == 0
        assert cli.trainer.precision == "bf16-mixed"
        return
    assert cli.datamodule.batch_size == 100
    assert early_stopping.monitor == "val_loss"
    assert early_stopping.patience == (0 if name == "practical" else 5)
