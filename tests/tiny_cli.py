"""CLI options shared by the tests: the synthetic data, a tiny LSTM, quiet trainer, own logs."""

from __future__ import annotations

from pathlib import Path


def quiet_args(data_dir: Path) -> list[str]:
    """The synthetic data, a tiny LSTM and a quiet trainer; where runs go is left to the caller."""
    return [
        "--data.data_dir",
        str(data_dir),
        "--data.val_size",
        "100",
        "--data.batch_size",
        "50",
        "--model.hidden_size",
        "8",
        "--trainer.enable_progress_bar",
        "false",
        "--trainer.enable_model_summary",
        "false",
    ]


def tiny_args(data_dir: Path, runs: Path, name: str = "tiny") -> list[str]:
    """Options shared by the tests: the synthetic data, a tiny LSTM, logs under ``runs``."""
    return [
        *quiet_args(data_dir),
        "--trainer.logger.init_args.save_dir",
        str(runs),
        "--trainer.logger.init_args.name",
        name,
    ]
