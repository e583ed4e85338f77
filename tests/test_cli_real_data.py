"""One epoch of the LSTM-128 config on the real MNIST through the CLI (needs MNIST_DATA_DIR)."""

from __future__ import annotations

import pytest
from scripts_loader import CONFIG_DIR

from lightning_module.cli import run_cli
from lightning_module.training.curves import read_epoch_curves

CONFIG = CONFIG_DIR / "lstm.yaml"


@pytest.mark.slow
@pytest.mark.real_data
@pytest.mark.filterwarnings("ignore:LightningCLI's args parameter")
def test_one_epoch_of_lstm_128_on_real_mnist_reaches_93_percent_val_accuracy(
    real_mnist_dir, tmp_path
):
    cli = run_cli(
        [
            "fit",
            "--config",
            str(CONFIG),
            "--data.data_dir",
            str(real_mnist_dir),
            "--trainer.max_epochs",
            "1",
            "--trainer.enable_progress_bar",
            "false",
            "--trainer.logger.init_args.save_dir",
            str(tmp_path / "runs"),
        ]
    )
    assert cli.model.hparams.cell == "lstm" and cli.model.hparams.hidden_size == 128
    assert cli.trainer.global_step == 550  # 55000 training images in batches of 100
    assert cli.trainer.checkpoint_callback.best_model_score is not None
    curves = read_epoch_curves(cli.trainer.log_dir, ("val_acc",))["val_acc"]
    assert len(curves) == 1
    assert curves[0][1] >= 0.93
    assert "test_acc" in cli.test_results[0]  # the best checkpoint was tested
