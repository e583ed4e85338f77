"""The ``rnn-mnist`` command: LightningCLI(RecurrentClassifier, MNISTDataModule).

    rnn-mnist fit --config scripts/configs/lstm.yaml       # train, then test the best checkpoint
    rnn-mnist fit --config scripts/configs/lstm.yaml --ckpt_path last   # resume
    rnn-mnist test --config scripts/configs/lstm.yaml \
        --ckpt_path runs/lstm/checkpoints/best.ckpt
    rnn-mnist predict --config scripts/configs/lstm.yaml \
        --ckpt_path runs/lstm/checkpoints/best.ckpt \
        --data.predict_dir my_digits/ --predictions.output predictions.csv
    rnn-mnist test --ckpt_path pretrained:lstm    # a shipped pretrained model, by name
    rnn-mnist demo                                # draw a digit in the browser (extra "demo")

Checkpoints live in a stable folder per run name, ``<save_dir>/<name>/checkpoints/`` (TensorBoard
logs in ``<save_dir>/<name>/version_<n>/``): ``best.ckpt`` (lowest val_loss, configurable under
``checkpoint.*``) and ``last.ckpt`` (rewritten after every epoch's validation, so
``--ckpt_path last`` resumes from the latest finished epoch). A new fit with the same name
overwrites both. Checkpoints are written atomically (temporary file, then rename) and read with
``weights_only=True`` only. A resumed fit equals the uninterrupted one (data order and dropout
masks depend only on the seed and the epoch; see ``training_guards.EpochSeed``). A fit whose
loss turns NaN/inf stops before writing that epoch's checkpoints (``NonFiniteLossGuard``).

After ``fit``, the best checkpoint is tested (the practical tested its final weights, which
with patience 0 are one epoch past the best). ``predict`` exits with status 1 when any image
could not be read (each gets a CSV row saying why; the others are still classified).

Errors the user can fix (a bad argument, missing or corrupt data, an unusable checkpoint, a
diverged run) end the command with one ``rnn-mnist: error: ...`` message and exit status 2 (bad
argument) or 1 (the others), without a traceback.
"""

from __future__ import annotations

import os
import sys
from typing import Any

import torch
from pytorch_lightning.callbacks import Callback, EarlyStopping, ModelCheckpoint
from pytorch_lightning.cli import LightningArgumentParser, LightningCLI
from pytorch_lightning.plugins.io import TorchCheckpointIO
from pytorch_lightning.utilities.exceptions import MisconfigurationException

from data import MNISTDataError, MNISTDataModule
from lightning_module.model import RecurrentClassifier
from lightning_module.pretrained import resolve_ckpt_path_in_config
from lightning_module.training.checkpoint_io import (
    AtomicTorchCheckpointIO,
    CheckpointError,
    read_checkpoint,
)
from lightning_module.training.guards import EpochSeed, NonFiniteLossError, NonFiniteLossGuard
from lightning_module.training.predictions import PredictionCSVWriter

DEFAULT_SEED = 1234
LAST_CHECKPOINT_NAME = "last"  # ModelCheckpoint.CHECKPOINT_NAME_LAST: what ckpt_path="last" finds


def last_checkpoint_callback() -> ModelCheckpoint:
    """A checkpoint of the latest epoch, every epoch (``save_last`` only follows top-k saves)."""
    return ModelCheckpoint(
        filename=LAST_CHECKPOINT_NAME,
        monitor=None,
        save_top_k=1,
        every_n_epochs=1,
        enable_version_counter=False,
    )


def stable_checkpoint_dir(trainer: Any) -> str:
    """``<save_dir>/<name>/checkpoints`` of the first logger, else under ``default_root_dir``.

    Unlike Lightning's default (inside the logger's ``version_<n>`` folder, new for every run),
    this folder is the same for every run of a config, so ``--ckpt_path last`` finds it.
    """
    logger = trainer.loggers[0] if trainer.loggers else None
    if logger is not None and logger.save_dir is not None:
        folder = os.path.join(logger.save_dir, str(logger.name), "checkpoints")
    else:
        folder = os.path.join(trainer.default_root_dir, "checkpoints")
    return os.path.realpath(os.path.expanduser(folder))


class ConfigurationError(ValueError):
    """An argument out of range, found while building the model, data module or trainer."""


# ckpt_path values that Lightning resolves itself rather than as a file path.
LIGHTNING_CHECKPOINT_NAMES = ("last", "best", "hpc", "registry")
# What main() reports as one "rnn-mnist: error: ..." line instead of a traceback.
KNOWN_ERRORS = (ConfigurationError, MNISTDataError, CheckpointError, NonFiniteLossError)


class RNNMnistCLI(LightningCLI):
    """LightningCLI with the project's callbacks, stable checkpoints and post-fit test."""

    exit_code: int = 0
    test_results: list[dict[str, float]] | None = None

    def add_arguments_to_parser(self, parser: LightningArgumentParser) -> None:
        parser.add_lightning_class_args(EarlyStopping, "early_stopping")
        parser.set_defaults(
            {
                "early_stopping.monitor": "val_loss",
                "early_stopping.mode": "min",
                "early_stopping.patience": 5,
            }
        )
        parser.add_lightning_class_args(ModelCheckpoint, "checkpoint")
        parser.set_defaults(
            {
                "checkpoint.monitor": "val_loss",
                "checkpoint.mode": "min",
                "checkpoint.save_top_k": 1,
                "checkpoint.filename": "best",
                "checkpoint.enable_version_counter": False,
            }
        )
        parser.add_lightning_class_args(PredictionCSVWriter, "predictions")

    def parse_arguments(self, parser: LightningArgumentParser, args: Any) -> None:
        super().parse_arguments(parser, args)
        resolve_ckpt_path_in_config(self.config)  # "pretrained:<name>" -> that shipped file
        subcommand = self.config.get("subcommand")
        ckpt_path = self.config[subcommand].get("ckpt_path") if subcommand else None
        if (
            not ckpt_path
            or "://" in str(ckpt_path)
            or (
                str(ckpt_path).split(":")[0] in LIGHTNING_CHECKPOINT_NAMES  # also "registry:<name>"
            )
        ):
            return
        # LightningCLI reads the file's hyperparameters next, with no error handling; and a
        # missing file is better refused before the run creates its log folder.
        read_checkpoint(ckpt_path)

    def instantiate_classes(self) -> None:
        """Build everything; any argument refused on the way is a ``ConfigurationError``.

        Nothing has read data or written a file yet: the classes only check their arguments.
        """
        try:
            super().instantiate_classes()
        except CheckpointError:
            raise
        except (ValueError, MisconfigurationException) as exc:
            raise ConfigurationError(str(exc)) from exc

    def instantiate_trainer(self, **kwargs: Any):
        trainer = super().instantiate_trainer(**kwargs)
        if type(trainer.strategy.checkpoint_io) is TorchCheckpointIO:
            trainer.strategy.checkpoint_io = AtomicTorchCheckpointIO()
        folder = stable_checkpoint_dir(trainer)
        for callback in trainer.checkpoint_callbacks:
            if isinstance(callback, ModelCheckpoint) and callback.dirpath is None:
                callback.dirpath = folder
        return trainer

    def _say(self, message: str) -> None:
        if self.trainer.is_global_zero:
            print(message, flush=True)

    def _warn_without_checkpoint(self) -> None:
        if self.config_init[self.subcommand].get("ckpt_path") is None:
            self._say(
                f"rnn-mnist {self.subcommand}: no --ckpt_path given, so the model has freshly "
                "initialised weights"
            )

    before_validate = before_test = before_predict = _warn_without_checkpoint

    def after_fit(self) -> None:
        trainer = self.trainer
        best = getattr(trainer.checkpoint_callback, "best_model_path", "") or None
        if trainer.fast_dev_run or best is None:
            self._say("testing the final weights (no best checkpoint was saved)")
        else:
            self._say(f"testing the best checkpoint: {best}")
        self.test_results = trainer.test(self.model, datamodule=self.datamodule, ckpt_path=best)
        if trainer.logger is not None and trainer.log_dir is not None:
            log_dir = trainer.log_dir
            self._say(f"TensorBoard logs: {log_dir}   (tensorboard --logdir {log_dir})")
        if best is not None:
            self._say(f"checkpoints: {os.path.dirname(best)}   (resume: --ckpt_path last)")

    def after_predict(self) -> None:
        writer = next(cb for cb in self.trainer.callbacks if isinstance(cb, PredictionCSVWriter))
        if not writer.written:  # no batch ran (only unreadable images): Lightning skipped the hooks
            writer.write(self.datamodule)
        self._say(f"wrote {writer.rows_written} rows to {writer.output}")
        if writer.failures:
            self.exit_code = 1
            if self.trainer.is_global_zero:
                for name, reason in writer.failures:
                    print(f"could not classify {name}: {reason}", file=sys.stderr)


def run_cli(
    args: list[str] | None = None, run: bool = True, extra_callbacks: list[Callback] | None = None
) -> RNNMnistCLI:
    """Build and (with ``run``) execute the CLI on ``args`` (None: ``sys.argv[1:]``).

    ``extra_callbacks`` are added to every trainer (for tools such as scripts/reproduce.py).
    """
    # BPTT over hundreds of steps (pixels_per_step=1) shrinks gradients into float32 denormals,
    # which x86 CPUs compute on very slowly: a 784-step LSTM-128 backward took 9.2 s instead of
    # 0.8 s (same gradients to 5 digits). Flushing them to zero changes nothing above 1.2e-38.
    torch.set_flush_denormal(True)
    return RNNMnistCLI(
        RecurrentClassifier,
        MNISTDataModule,
        seed_everything_default=DEFAULT_SEED,
        trainer_defaults={
            "max_epochs": 100,
            "logger": {
                "class_path": "pytorch_lightning.loggers.TensorBoardLogger",
                "init_args": {"save_dir": "runs", "name": "rnn-mnist", "default_hp_metric": False},
            },
            "callbacks": [
                last_checkpoint_callback(),
                EpochSeed(),
                NonFiniteLossGuard(),
                *(extra_callbacks or []),
            ],
        },
        save_config_kwargs={"overwrite": True},
        auto_configure_optimizers=False,  # the model's lr / lr_schedule are the one way to set them
        parser_kwargs={"description": "Train and use recurrent classifiers on sequential MNIST."},
        args=args,
        run=run,
    )


def main(args: list[str] | None = None) -> int:
    """Console entry point ``rnn-mnist``; returns the exit status.

    0: success. 1: some images could not be classified, or a known error (``KNOWN_ERRORS``:
    missing/corrupt data, unusable checkpoint, diverged training) printed as one
    ``rnn-mnist: error: ...`` message on stderr. 2: a bad argument (the same kind of message;
    jsonargparse's own type errors also exit with 2). Unexpected errors keep their traceback.
    """
    argv = sys.argv[1:] if args is None else args
    if argv[:1] == ["demo"]:  # a web page, not a Trainer run: no LightningCLI
        from lightning_module.demo.cli import main as demo_main

        return demo_main(argv[1:])
    try:
        return run_cli(args).exit_code
    except KNOWN_ERRORS as exc:
        print(f"rnn-mnist: error: {exc}", file=sys.stderr, flush=True)
        return 2 if isinstance(exc, ConfigurationError) else 1
    finally:
        # Lightning leaves the DDP process group up; tearing gloo's threads down at interpreter
        # exit instead can abort the process ("terminate called without an active exception").
        if torch.distributed.is_available() and torch.distributed.is_initialized():
            torch.distributed.destroy_process_group()


if __name__ == "__main__":
    sys.exit(main())
