"""CLI options shared by the tests: the synthetic data, a tiny model, a quiet trainer, own logs."""

from __future__ import annotations

from pathlib import Path


def tiny_args(
    data_dir: Path | None,
    runs: Path | None,
    name: str | None = "tiny",
    batch_size: int = 50,
) -> list[str]:
    """Options for a fast CLI run: hidden size 8, 100 validation images, no progress bar.

    ``data_dir`` / ``runs`` None leave the data folder / log folder to the caller; ``name`` None
    keeps the config's run name.
    """
    args = [
        "--data.val_size", "100",
        "--data.batch_size", str(batch_size),
        "--model.hidden_size", "8",
        "--trainer.enable_progress_bar", "false",
        "--trainer.enable_model_summary", "false",
    ]  # fmt: skip
    if data_dir is not None:
        args += ["--data.data_dir", str(data_dir)]
    if runs is not None:
        args += ["--trainer.logger.init_args.save_dir", str(runs)]
    if name is not None:
        args += ["--trainer.logger.init_args.name", name]
    return args


def predict_folder(tiny_checkpoint: tuple[Path, Path], folder: Path, output: Path) -> int:
    """``rnn-mnist predict`` of the tiny checkpoint on every image in ``folder`` into ``output``."""
    from lightning_module.cli import main

    ckpt, data = tiny_checkpoint
    return main(
        [
            "predict",
            *tiny_args(data, output.parent / "runs"),
            "--ckpt_path",
            str(ckpt),
            "--data.predict_dir",
            str(folder),
            "--predictions.output",
            str(output),
        ]  # fmt: skip
    )
