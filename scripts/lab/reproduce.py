"""Train configs through the rnn-mnist CLI and tabulate the results (JSON + markdown).

    python scripts/reproduce.py                       # rnn, lstm, gru on the real MNIST
    python scripts/reproduce.py lstm practical -- --trainer.max_epochs 5

Each config is trained with ``rnn-mnist fit --config scripts/configs/<name>.yaml`` (plus any
options after ``--``), which early-stops and tests the best checkpoint. Per config the table
gives: epochs trained, the best val_loss and the val accuracy of that same (best) epoch, the
test accuracy of the best checkpoint, the wall time of fit + test, and the training throughput
(samples per second in training batches, validation excluded); the JSON also holds the best
checkpoint's weights digest, so two runs can be compared bit for bit.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from lab.configs import resolve_config
from lab.reports import write_partial_report, write_report
from lab.same_training import weights_digest
from lab.speed import TrainingSpeed
from lightning_module.cli import run_cli
from lightning_module.training.checkpoint_io import read_checkpoint
from lightning_module.training.curves import read_epoch_curves
from lightning_module.utils.environment import environment

DEFAULT_CONFIGS = ("rnn", "lstm", "gru")
REPORT_STEM = "reproduce"


def train_config(config: Path, extra_args: list[str]) -> dict[str, Any]:
    """Fit (and test the best checkpoint of) one config; return its results row."""
    speed = TrainingSpeed()
    started = time.perf_counter()
    cli = run_cli(["fit", "--config", str(config), *extra_args], extra_callbacks=[speed])
    wall = time.perf_counter() - started
    trainer = cli.trainer
    best_score = trainer.checkpoint_callback.best_model_score
    curves = read_epoch_curves(trainer.log_dir, ("val_loss", "val_acc"))
    best_epoch, best_val_loss = min(curves["val_loss"], key=lambda point: point[1])
    val_acc_by_epoch = dict(curves["val_acc"])
    hparams = cli.model.hparams
    best_path = trainer.checkpoint_callback.best_model_path
    best = read_checkpoint(best_path, map_location="cpu")
    return {
        "config": config.stem,
        "cell": hparams.cell,
        "hidden_size": hparams.hidden_size,
        "pixels_per_step": hparams.pixels_per_step,
        "epochs": trainer.current_epoch,
        "best_epoch": best_epoch,
        "best_val_loss": float(best_score) if best_score is not None else best_val_loss,
        "best_val_acc": val_acc_by_epoch[best_epoch],
        "test_acc": cli.test_results[0]["test_acc"],
        "test_loss": cli.test_results[0]["test_loss"],
        "wall_time_s": wall,
        "train_samples": speed.samples,
        "train_seconds": speed.seconds,
        "train_samples_per_s": speed.samples_per_second,
        "log_dir": str(trainer.log_dir),
        "best_checkpoint": best_path,
        "weights_sha256": weights_digest(best["state_dict"]),
    }


def markdown_table(rows: list[dict[str, Any]], command: str) -> str:
    lines = [
        "# Reproduction results",
        "",
        f"Command: `{command}`",
        "",
        "| config | cell | hidden | epochs | best epoch | best val acc | test acc (best ckpt) "
        "| wall time | train samples/s |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        lines.append(
            f"| {row['config']} | {row['cell']} | {row['hidden_size']} | {row['epochs']} "
            f"| {row['best_epoch']} | {100 * row['best_val_acc']:.2f}% "
            f"| {100 * row['test_acc']:.2f}% | {row['wall_time_s'] / 60:.1f} min "
            f"| {row['train_samples_per_s']:,.0f} |"
        )
    return "\n".join(lines) + "\n"


def reproduce(
    configs: list[str],
    results_dir: str | Path,
    extra_args: list[str],
    command: str,
    config_dir: str | Path,
    report_stem: str = REPORT_STEM,
) -> dict[str, Any]:
    """Train every config in turn, then write ``<report_stem>.json`` and ``.md`` atomically.

    All config names are checked before any training starts. After each config the rows so far
    go to ``<report_stem>.partial.json``, so a long run that is interrupted keeps them, and the
    last complete report stays as it was.
    """
    paths = [resolve_config(name, config_dir) for name in configs]
    report: dict[str, Any] = {"command": command, "environment": environment(), "runs": []}
    for path in paths:
        report["runs"].append(train_config(path, extra_args))
        write_partial_report(results_dir, report_stem, report)
    write_report(results_dir, report_stem, report, markdown_table(report["runs"], command))
    return report
