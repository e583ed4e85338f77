"""The ``rnn-mnist`` command: LightningCLI(RecurrentClassifier, MNISTDataModule).

    rnn-mnist fit --config scripts/configs/lstm.yaml       # train, then test the best checkpoint
    rnn-mnist fit --config scripts/configs/lstm.yaml --ckpt_path last   # resume the latest run
    rnn-mnist test --config scripts/configs/lstm.yaml --ckpt_path best  # the latest run's best
    rnn-mnist predict --ckpt_path runs/lstm/latest/checkpoints/best.ckpt \
        --data.predict_dir my_digits/ --predictions.output predictions.csv
    rnn-mnist test --ckpt_path pretrained:lstm    # a shipped pretrained model, by name
    rnn-mnist demo                                # draw a digit in the browser (extra "demo")

Every fit gets its own run folder, ``<default_root_dir>/<name>/version_<n>/`` (default_root_dir
``runs``; name from the logger, e.g. ``lstm`` in scripts/configs/lstm.yaml): its TensorBoard
events, ``config.yaml`` and ``checkpoints/`` with ``best.ckpt`` (lowest val_loss, configurable
under ``checkpoint.*``) and ``last.ckpt`` (rewritten after every epoch's validation).
``<default_root_dir>/<name>/latest`` links to the newest run holding a checkpoint (see
``lightning_module.training.run_folders``). ``--ckpt_path last`` resumes the newest run that has
a ``last.ckpt``, in that run's own folder; ``--ckpt_path best`` / ``last`` in
test/validate/predict name the newest run's checkpoint. Checkpoints are written atomically
(temporary file, then rename) and read with ``weights_only=True`` only. A resumed fit equals the
uninterrupted one (data order and dropout masks depend only on the seed and the epoch; see
``lightning_module.training.guards.EpochSeed``). A fit whose loss turns NaN/inf stops before
writing that epoch's checkpoints (``NonFiniteLossGuard``). ``test``, ``validate`` and
``predict`` print their results; ``test`` also logs them, with its figures, under
``<default_root_dir>/<name>/test/version_<n>/``.

A checkpoint never overrides the command: the model architecture the command asks for (its
config's model section and ``--model.*`` options) must match the checkpoint's, or the command
stops naming each difference; what the command leaves open comes from the checkpoint.

After ``fit``, the best checkpoint is tested (the practical tested its final weights, which
with patience 0 are one epoch past the best). ``predict`` exits with status 1 when any image
could not be read (each gets a CSV row saying why; the others are still classified).

Errors the user can fix (a bad argument or output location, missing or corrupt data, an
unusable checkpoint, a diverged run, a full disk) end the command with one
``rnn-mnist: error: ...`` message and exit status 2 (bad argument) or 1 (the others), without
a traceback. Every output location and data file is checked before training starts.
"""

from __future__ import annotations

import inspect
import logging
import os
import sys
from pathlib import Path
from typing import Any

import torch
from jsonargparse import ArgumentError, Namespace
from pytorch_lightning.callbacks import (
    Callback,
    EarlyStopping,
    LearningRateMonitor,
    ModelCheckpoint,
    ProgressBar,
)
from pytorch_lightning.cli import (
    LightningArgumentParser,
    LightningCLI,
    SaveConfigCallback,
    instantiate_class,
)
from pytorch_lightning.loggers import TensorBoardLogger
from pytorch_lightning.plugins.io import TorchCheckpointIO
from pytorch_lightning.utilities.exceptions import MisconfigurationException, SIGTERMException
from pytorch_lightning.utilities.rank_zero import rank_zero_only

from data import MNISTDataError, MNISTDataModule
from data.idx import NUM_CLASSES
from lightning_module.model import (
    MONITORABLE,
    RecurrentClassifier,
)
from lightning_module.pretrained import PretrainedModelError, resolve_ckpt_path_in_config
from lightning_module.training.checkpoint_io import (
    ARCHITECTURE_HPARAMS,
    AtomicTorchCheckpointIO,
    CheckpointError,
    architecture_differences,
    read_checkpoint,
)
from lightning_module.training.command_settings import given_model_settings
from lightning_module.training.config_files import ConfigFileError, check_config_files
from lightning_module.training.config_sources import parse_error_line, source_of
from lightning_module.training.disk_full import DISK_FULL, disk_full_message
from lightning_module.training.guards import EpochSeed, NonFiniteLossError, NonFiniteLossGuard
from lightning_module.training.interrupts import SIGTERM_EXIT_STATUS, InterruptReport
from lightning_module.training.latest_run import LatestRunLink
from lightning_module.training.output_paths import output_clash
from lightning_module.training.predictions import PredictionCSVWriter
from lightning_module.training.progress import LiveProgressBar, print_error
from lightning_module.training.run_config import RunConfigCallback
from lightning_module.training.run_folders import (
    CHECKPOINT_FOLDER,
    LAST_CHECKPOINT_NAME,
    LATEST_LINK,
    claim_run_folder,
    free_name,
    name_leaving_root,
    newest_with,
    point_latest,
    run_folder_of,
    run_root,
    version_of,
)
from lightning_module.training.setting_conflicts import SettingConflict, check_fit_settings
from lightning_module.training.tensorboard_figures import TensorBoardFigures
from lightning_module.utils.checks import (
    require_choice,
    require_writable_file,
    require_writable_folder,
)

DEFAULT_SEED = 1234
DEFAULT_ROOT_DIR = "runs"
BEST_CHECKPOINT_NAME = "best"  # the default checkpoint.filename
# Metrics the model logs, so the only values early stopping / checkpointing can monitor.


def last_checkpoint_callback() -> ModelCheckpoint:
    """A checkpoint of the latest epoch, every epoch (``save_last`` only follows top-k saves)."""
    return ModelCheckpoint(
        filename=LAST_CHECKPOINT_NAME,
        monitor=None,
        save_top_k=1,
        every_n_epochs=1,
        enable_version_counter=False,
    )


class ConfigurationError(ValueError):
    """An argument out of range, or one the run could not use, found before any work."""


# ckpt_path values that Lightning resolves itself rather than as a file path.
LIGHTNING_CHECKPOINT_NAMES = ("hpc", "registry")
LIGHTNING_RANK_ZERO_LOGGER = "pytorch_lightning.utilities.rank_zero"
TIP_MARKER = "\U0001f4a1 Tip:"
# What main() reports as one "rnn-mnist: error: ..." line instead of a traceback.
KNOWN_ERRORS = (
    ConfigurationError,
    ConfigFileError,
    SettingConflict,
    MNISTDataError,
    CheckpointError,
    NonFiniteLossError,
)
BAD_ARGUMENTS = (ConfigurationError, ConfigFileError, SettingConflict)  # exit status 2


@rank_zero_only
def _say_early(message: str) -> None:
    """Print on global rank 0 (before the trainer exists; the rank comes from the launcher)."""
    print(message, flush=True)


def quiet_lightning_tips() -> None:
    """Drop Lightning's advertising tips (cloud logging, model registry) from its info log.

    They are log records of Lightning's rank-zero logger; a test fails if one reaches a run's
    output, so a renamed logger cannot bring them back unnoticed.
    """
    logging.getLogger(LIGHTNING_RANK_ZERO_LOGGER).addFilter(
        lambda record: not str(record.msg).lstrip().startswith(TIP_MARKER)
    )


def _logger_save_dir_and_name(logger: Any) -> tuple[Any, Any] | None:
    """(save_dir, name) of a parsed logger setting; None when there is no logger."""
    if isinstance(logger, list):
        logger = logger[0] if logger else None
    if logger is True:
        return None, "lightning_logs"
    if not isinstance(logger, (dict, Namespace)):
        return None
    init_args = logger.get("init_args") or {}
    return init_args.get("save_dir"), init_args.get("name", "lightning_logs")


class RNNMnistCLI(LightningCLI):
    """LightningCLI with the project's callbacks, run folders, checks and post-fit test."""

    exit_code: int = 0
    test_results: list[dict[str, float]] | None = None
    run_folder: Path | None = None
    _resume_folder: Path | None = None
    _argv: Any = None
    _config_files: dict[str, Any]  # each --config file's content, by its path

    def init_parser(self, **kwargs: Any) -> LightningArgumentParser:
        parser = super().init_parser(**kwargs)
        from lightning_module import __version__

        parser.add_argument("--version", action="version", version=f"rnn-mnist {__version__}")
        return parser

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
                "checkpoint.filename": BEST_CHECKPOINT_NAME,
                "checkpoint.enable_version_counter": False,
            }
        )
        parser.add_lightning_class_args(PredictionCSVWriter, "predictions")

    # -- parsing: where runs go, which checkpoint, and whether it agrees with the command ------

    def parse_arguments(self, parser: LightningArgumentParser, args: Any) -> None:
        # Config files are read here first: jsonargparse reports their mistakes without the
        # file's name, or expands YAML aliases without a bound.
        self._argv = sys.argv[1:] if args is None else args
        argv = self._argv if isinstance(self._argv, list) else []
        self._config_files = check_config_files(argv)
        try:
            super().parse_arguments(parser, args)
        except ArgumentError as exc:  # the parser is built with exit_on_error=False
            raise ConfigurationError(parse_error_line(str(exc), argv, self._config_files)) from None
        try:
            resolve_ckpt_path_in_config(self.config)  # "pretrained:<name>" -> that shipped file
        except PretrainedModelError as exc:  # a name or a use the command cannot take
            given = f"--ckpt_path {self.config[self.config.subcommand].ckpt_path}"
            message = str(exc) if str(exc).startswith(given) else f"{given}: {exc}"
            raise ConfigurationError(message) from None
        subcommand = self.config.get("subcommand")
        if not subcommand:
            return
        if subcommand == "fit":
            check_fit_settings(self.config.fit.as_dict(), argv, self._config_files)
        config = self.config[subcommand]
        self._refuse_too_few_classes(config, argv)
        self._refuse_run_names_leaving_root(config)
        self._follow_default_root_dir(config)
        given = given_model_settings(
            args.as_dict() if isinstance(args, Namespace) else self._argv,
            self._config_files,
            subcommand,
        )
        self._command_model = {name: config.model[name] for name in given if name in config.model}
        self._run_root = self._config_run_root(config)
        ckpt_path = self._resolve_ckpt_path(subcommand, config.get("ckpt_path"))
        config.ckpt_path = ckpt_path
        if not ckpt_path or "://" in str(ckpt_path):
            return
        if str(ckpt_path).split(":")[0] in LIGHTNING_CHECKPOINT_NAMES:  # also "registry:<name>"
            return
        # LightningCLI reads the file's hyperparameters next, with no error handling; and a
        # missing file is better refused before the run creates its folder.
        checkpoint = read_checkpoint(ckpt_path)
        self._check_architecture(ckpt_path, checkpoint.get("hyper_parameters") or {})
        if subcommand == "fit":
            self._resume_folder = run_folder_of(ckpt_path, self._run_root)

    def _refuse_too_few_classes(self, config: Namespace, argv: list[str]) -> None:
        """A head with fewer outputs than MNIST's ten digits fails at the first label above it,
        after the run folder exists; refused here instead."""
        classes = config.model.get("num_classes")
        if isinstance(classes, int) and 2 <= classes < NUM_CLASSES:
            source = source_of("model.num_classes", argv, self._config_files)
            raise ConfigurationError(
                f"model.num_classes={classes} (from {source}): MNIST has {NUM_CLASSES} classes "
                f"(the digits 0-9), so the model needs at least {NUM_CLASSES} outputs; leave "
                f"num_classes at its default of {NUM_CLASSES}"
            )

    @staticmethod
    def _refuse_run_names_leaving_root(config: Namespace) -> None:
        """A logger's name and version are folder names below its save_dir: one that is absolute
        or climbs out with '..' would write a run's files where no run root is."""
        loggers = config.trainer.get("logger")
        for logger in loggers if isinstance(loggers, list) else [loggers]:
            init_args = logger.get("init_args") if isinstance(logger, Namespace) else None
            for key in ("name", "version"):
                value = init_args.get(key) if init_args is not None else None
                reason = name_leaving_root(value)
                if reason is not None:
                    raise ConfigurationError(
                        f"trainer.logger.init_args.{key} {value!r} {reason}: a run {key} is a "
                        "folder name inside the logger's save_dir; put the location in "
                        "--trainer.logger.init_args.save_dir instead"
                    )

    @staticmethod
    def _follow_default_root_dir(config: Namespace) -> None:
        """Runs go under ``trainer.default_root_dir`` unless the logger's save_dir is given
        (the default logger's save_dir is empty: "follow default_root_dir")."""
        loggers = config.trainer.get("logger")
        for logger in loggers if isinstance(loggers, list) else [loggers]:
            init_args = logger.get("init_args") if isinstance(logger, Namespace) else None
            if init_args is not None and init_args.get("save_dir") == "":
                init_args.save_dir = config.trainer.get("default_root_dir") or DEFAULT_ROOT_DIR

    @staticmethod
    def _config_run_root(config: Namespace) -> Path:
        save_dir_and_name = _logger_save_dir_and_name(config.trainer.get("logger"))
        default_root_dir = config.trainer.get("default_root_dir") or DEFAULT_ROOT_DIR
        if save_dir_and_name is None:
            return run_root(None, None, default_root_dir)
        save_dir, name = save_dir_and_name
        return run_root(save_dir or default_root_dir, name, default_root_dir)

    def _resolve_ckpt_path(self, subcommand: str, ckpt_path: Any) -> Any:
        """``best`` / ``last``: that checkpoint of the newest run under the run root that has it."""
        if ckpt_path not in (BEST_CHECKPOINT_NAME, LAST_CHECKPOINT_NAME):
            return ckpt_path
        if subcommand == "fit" and ckpt_path == BEST_CHECKPOINT_NAME:
            raise ConfigurationError(
                "fit resumes from --ckpt_path last or a checkpoint file, not 'best' (a run "
                "continued from its best epoch would rewrite that run's later checkpoints)"
            )
        filename = f"{ckpt_path}.ckpt"
        found = newest_with(self._run_root, filename)
        if found is not None:
            _say_early(f"--ckpt_path {ckpt_path}: {found}")
            return str(found)
        if subcommand == "fit":
            _say_early(
                f"--ckpt_path last: no run under {self._run_root} has a checkpoint yet, so this "
                "fit starts a new run"
            )
            return None
        raise ConfigurationError(
            f"--ckpt_path {ckpt_path}: no run under {self._run_root} has "
            f"{CHECKPOINT_FOLDER}/{filename}; fit one first, or pass a checkpoint file"
        )

    def _check_architecture(self, ckpt_path: str, saved: dict[str, Any]) -> None:
        """Refuse a checkpoint whose architecture differs from the command's; say what it sets."""
        if not saved:
            return  # no hyperparameters: loading checks the weights' shapes
        asked = self._command_model
        differences = architecture_differences(saved, asked)
        if differences:
            listed = ", ".join(
                f"{name}={value!r} (the checkpoint has {found!r})"
                for name, value, found in differences
            )
            raise ConfigurationError(
                f"checkpoint {ckpt_path} does not match the model this command asks for: "
                f"{listed}. Drop these --model.* options (or the config's model section) to use "
                "the checkpoint's architecture, or pass the config that trained it"
            )
        compared = [name for name in ARCHITECTURE_HPARAMS if name in saved]
        if not saved.get("permute") and not asked.get("permute"):
            compared = [name for name in compared if name != "permute_seed"]  # no permutation
        taken = [name for name in compared if name not in asked]
        if len(taken) == len(compared):
            listed = ", ".join(f"{name}={saved[name]!r}" for name in taken)
            _say_early(f"using the checkpoint's architecture: {listed}")
            return
        defaults = self.config[self.config.subcommand].model
        changed = [  # settings left open whose default the checkpoint replaces
            f"{name}={saved[name]!r} (default {defaults.get(name)!r})"
            for name in taken
            if defaults.get(name) != saved[name]
        ]
        if changed:
            _say_early(f"using the checkpoint's {', '.join(changed)}")

    def before_instantiate_classes(self) -> None:
        """After LightningCLI merged the checkpoint's hyperparameters: the command's own model
        settings win over the checkpoint's (the architecture already agrees), said in one line.
        """
        subcommand = self.config.get("subcommand")
        if not subcommand or not self.config[subcommand].get("ckpt_path"):
            return
        model = self.config[subcommand].model
        for name, value in self._command_model.items():
            if name in ARCHITECTURE_HPARAMS or model.get(name) == value:
                continue
            _say_early(f"using the command's {name}={value!r} (the checkpoint has {model[name]!r})")
            model[name] = value

    # -- building: every argument and output location checked before any work ----------------

    def instantiate_classes(self) -> None:
        """Build everything; any argument refused on the way is a ``ConfigurationError``.

        Nothing has read data or written a file yet: the classes only check their arguments.
        """
        try:
            super().instantiate_classes()
        except (CheckpointError, ConfigurationError):
            raise
        except (ValueError, MisconfigurationException) as exc:
            raise ConfigurationError(str(exc)) from exc

    def _progress_bar_callbacks(self) -> list[Callback]:
        """The trainer config's callbacks, plus the project's progress bar in place of Lightning's
        default one, unless the bar is off or the user configured a progress bar of their own."""
        trainer_config = self.config_init[self.subcommand]["trainer"]
        callbacks = trainer_config.get("callbacks") or []
        callbacks = list(callbacks) if isinstance(callbacks, list) else [callbacks]
        given = [*callbacks, *self.trainer_defaults.get("callbacks", [])]
        if trainer_config.get("enable_progress_bar") is not False and not any(
            isinstance(callback, ProgressBar) for callback in given
        ):
            callbacks.append(LiveProgressBar())
        return callbacks

    def instantiate_trainer(self, **kwargs: Any):
        evaluating = self.subcommand in ("validate", "test", "predict")
        if evaluating:
            kwargs["logger"] = self._evaluation_logger()
        if self.subcommand is not None:
            kwargs.setdefault("callbacks", self._progress_bar_callbacks())
        trainer = super().instantiate_trainer(**kwargs)
        if type(trainer.strategy.checkpoint_io) is TorchCheckpointIO:
            trainer.strategy.checkpoint_io = AtomicTorchCheckpointIO()
        if self.subcommand == "fit":
            self._check_fit_settings(trainer)
        if self.subcommand in ("fit", None):  # None: run=False, objects built for a fit
            if trainer.loggers:
                trainer.callbacks.append(LearningRateMonitor(logging_interval="epoch"))
            trainer.callbacks.append(InterruptReport())
        elif evaluating:  # only fit makes a run folder, so only fit saves its config
            trainer.callbacks = [
                cb for cb in trainer.callbacks if not isinstance(cb, SaveConfigCallback)
            ]
            self._checkpoints_stay_with(trainer, self.config_init[self.subcommand].get("ckpt_path"))
        if self.subcommand == "predict":
            writer = self._prediction_writer(trainer)
            self._refuse_output_over_inputs(writer.output)
            require_writable_file("predictions.output", writer.output, error=ConfigurationError)
        else:  # the writer only writes predictions: other trainers need not carry it
            trainer.callbacks = [
                cb for cb in trainer.callbacks if not isinstance(cb, PredictionCSVWriter)
            ]
        return trainer

    def _evaluation_logger(self) -> TensorBoardLogger | bool:
        """``test`` logs its metrics, confusion matrix and per-row readout figures under
        ``<save_dir>/<name>/test/version_<n>``, beside (never inside) the fit runs' folders;
        ``validate`` and ``predict`` only print, so they get no logger and no folder."""
        logger = self.config_init[self.subcommand]["trainer"].get("logger")
        if self.subcommand != "test" or not isinstance(logger, TensorBoardLogger):
            return False
        return TensorBoardLogger(
            save_dir=logger.save_dir, name=f"{logger.name}/test", default_hp_metric=False
        )

    @staticmethod
    def _checkpoints_stay_with(trainer: Any, ckpt_path: Any) -> None:
        """Point the (idle outside fit) checkpoint callbacks at the loaded file's folder, the
        one its saved callback state names, so restoring that state finds nothing moved."""
        if not ckpt_path or not os.path.isfile(ckpt_path):
            return
        folder = os.path.dirname(os.path.realpath(ckpt_path))
        for callback in trainer.checkpoint_callbacks:
            if isinstance(callback, ModelCheckpoint) and callback.dirpath is None:
                callback.dirpath = folder

    def _check_fit_settings(self, trainer: Any) -> None:
        root = self._trainer_run_root(trainer)
        require_writable_folder("the run folder", root, error=ConfigurationError)
        for callback in trainer.checkpoint_callbacks:
            if not isinstance(callback, ModelCheckpoint):
                continue
            if callback.dirpath is not None:
                require_writable_folder(
                    "checkpoint.dirpath", callback.dirpath, error=ConfigurationError
                )
            if callback.monitor is not None:
                require_choice(
                    "checkpoint.monitor", callback.monitor, MONITORABLE, error=ConfigurationError
                )
        for callback in trainer.early_stopping_callbacks:
            require_choice(
                "early_stopping.monitor", callback.monitor, MONITORABLE, error=ConfigurationError
            )
        if trainer.limit_val_batches == 0:
            raise ConfigurationError(
                "trainer.limit_val_batches=0 turns validation off, but early stopping, the best "
                "checkpoint and the plateau schedule need val_loss"
            )
        every = trainer.check_val_every_n_epoch
        epochs = trainer.max_epochs
        if every and epochs is not None and 0 <= epochs < every and not trainer.fast_dev_run:
            raise ConfigurationError(
                f"trainer.check_val_every_n_epoch={every} never validates in "
                f"trainer.max_epochs={epochs} epochs, but the best checkpoint and the post-fit "
                "test need a validation: set check_val_every_n_epoch to at most max_epochs"
            )

    @staticmethod
    def _trainer_run_root(trainer: Any) -> Path:
        if trainer.loggers:
            logger = trainer.loggers[0]
            return run_root(logger.save_dir, logger.name, trainer.default_root_dir)
        return run_root(None, None, trainer.default_root_dir)

    def _refuse_output_over_inputs(self, output: Path) -> None:
        """The predictions file may not replace the checkpoint, a config file, an image being
        classified or a run's file, nor lie in the folder being classified."""
        config = self.config[self.subcommand]
        inputs: list[tuple[str, Any]] = []
        ckpt_path = self.config_init[self.subcommand].get("ckpt_path")
        if ckpt_path and os.path.isfile(ckpt_path):
            inputs.append(("the checkpoint being loaded, --ckpt_path", ckpt_path))
        # every config file of the command line, before the subcommand or after it
        for path in self._config_files:
            if os.path.isfile(path):
                inputs.append(("a config file given with --config", path))
        folders = []
        if config.data.get("predict_dir"):
            folders.append(("--data.predict_dir", config.data.predict_dir))
        clash = output_clash("predictions.output", output, inputs, folders)
        if clash is not None:
            raise ConfigurationError(clash)

    def _prediction_writer(self, trainer: Any) -> PredictionCSVWriter:
        return next(cb for cb in trainer.callbacks if isinstance(cb, PredictionCSVWriter))

    # -- running ---------------------------------------------------------------------------

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

    def before_fit(self) -> None:
        # The fit ends by testing, so the test split is read (and checked) now with the others.
        if isinstance(self.datamodule, MNISTDataModule):
            self.datamodule.preload("fit", "test")
        self._open_run_folder()

    def _open_run_folder(self) -> None:
        """Claim this fit's run folder (rank 0) and point the logger and checkpoints at it.

        Other DDP ranks receive the checkpoint folder from rank 0 in ``ModelCheckpoint.setup``.
        """
        trainer = self.trainer
        if trainer.fast_dev_run or not trainer.is_global_zero:
            return  # fast_dev_run writes nothing
        root = self._trainer_run_root(trainer)
        folder = self._resume_folder
        if folder is not None and folder.parent != root.resolve():
            folder = None
        folder = folder or claim_run_folder(root)
        self.run_folder = folder
        self._log_into(folder)
        # Absolute and resolved: a checkpoint restores its ModelCheckpoint state (best score,
        # best path) only into the same dirpath, whatever the working folder of the resume.
        checkpoints = str(folder.resolve() / CHECKPOINT_FOLDER)
        for callback in trainer.checkpoint_callbacks:
            if isinstance(callback, ModelCheckpoint) and callback.dirpath is None:
                callback.dirpath = checkpoints
        resumed = folder == self._resume_folder
        for callback in trainer.callbacks:
            if isinstance(callback, RunConfigCallback):
                callback.folder = folder
                if resumed:  # the run's first config.yaml stays; each resume adds its own
                    callback.config_filename = free_name(folder, "config.resumed_{}.yaml")
        self._say(f"run folder: {folder}{' (resumed)' if resumed else ''}")
        point_latest(root)
        trainer.callbacks.append(LatestRunLink(root))

    def _log_into(self, folder: Path) -> None:
        """Replace the first logger by the same one writing into ``folder`` (its version).

        A logger whose class takes no ``version`` (neither TensorBoard's nor CSV's) keeps its
        own folder; the run's checkpoints and config still go to ``folder``.
        """
        trainer = self.trainer
        loggers = self.config[self.subcommand].trainer.get("logger")
        first = loggers[0] if isinstance(loggers, list) and loggers else loggers
        if not trainer.loggers or not isinstance(first, Namespace) or "class_path" not in first:
            return
        init = first.clone().as_dict()
        logger_class = type(trainer.loggers[0])
        if "version" not in inspect.signature(logger_class).parameters:
            return
        init.setdefault("init_args", {})["version"] = version_of(folder)
        trainer.loggers = [instantiate_class((), init), *trainer.loggers[1:]]

    def after_fit(self) -> None:
        trainer = self.trainer
        best = getattr(trainer.checkpoint_callback, "best_model_path", "") or None
        if trainer.fast_dev_run or best is None:
            self._say("testing the final weights (no best checkpoint was saved)")
        else:
            self._say(f"testing the best checkpoint: {best}")
        self.test_results = trainer.test(self.model, datamodule=self.datamodule, ckpt_path=best)
        if self.run_folder is None:
            return
        root = self.run_folder.parent
        if trainer.loggers:
            self._say(f"TensorBoard logs: {self.run_folder}   (tensorboard --logdir {root})")
        if best is not None:
            latest = root / LATEST_LINK
            via = f"; newest run: {latest}" if latest.is_symlink() else ""
            self._say(
                f"checkpoints: {os.path.dirname(best)}   (resume: --ckpt_path last; test: "
                f"--ckpt_path best{via})"
            )

    def after_test(self) -> None:
        logger = self.trainer.logger
        if isinstance(logger, TensorBoardLogger) and os.path.isdir(logger.log_dir):
            self._say(
                f"TensorBoard logs: {logger.log_dir}   (tensorboard --logdir {logger.log_dir})"
            )

    def after_predict(self) -> None:
        writer = self._prediction_writer(self.trainer)
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
    # which x86 CPUs compute many times more slowly than normal numbers. Flushing them to zero
    # changes nothing above 1.2e-38.
    torch.set_flush_denormal(True)
    quiet_lightning_tips()
    return RNNMnistCLI(
        RecurrentClassifier,
        MNISTDataModule,
        seed_everything_default=DEFAULT_SEED,
        trainer_defaults={
            "max_epochs": 100,
            "default_root_dir": DEFAULT_ROOT_DIR,
            "logger": {
                "class_path": "pytorch_lightning.loggers.TensorBoardLogger",
                # save_dir "": the run root follows --trainer.default_root_dir
                "init_args": {"name": "rnn-mnist", "save_dir": "", "default_hp_metric": False},
            },
            "callbacks": [
                last_checkpoint_callback(),
                EpochSeed(),
                NonFiniteLossGuard(),
                TensorBoardFigures(),
                *(extra_callbacks or []),
            ],
        },
        save_config_callback=RunConfigCallback,
        auto_configure_optimizers=False,  # the model's lr / lr_schedule are the one way to set them
        # checkpoints' hyperparameters stay the model's own arguments (no "_instantiator" entry)
        load_from_checkpoint_support=False,
        parser_kwargs={
            "exit_on_error": False,  # parse errors become one "rnn-mnist: error:" line
            "description": "Train and use recurrent classifiers on sequential MNIST.",
            "epilog": "Also: 'rnn-mnist demo' draws a digit in the browser and classifies it "
            "(the 'demo' extra; rnn-mnist demo --help).",
        },
        args=args,
        run=run,
    )


def console_command() -> list[str]:
    """How to start ``rnn-mnist`` in a new process: the installed command, as users run it, or
    the module where the package is not installed (which puts the current folder first on
    ``sys.path``, where a folder named ``data`` would shadow the package)."""
    script = Path(sys.executable).with_name("rnn-mnist")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "lightning_module.cli"]


def main(args: list[str] | None = None) -> int:
    """Console entry point ``rnn-mnist``; returns the exit status.

    0: success. 1: some images could not be classified, or a known error (``KNOWN_ERRORS``:
    missing/corrupt data, unusable checkpoint, diverged training; or a full disk) printed as one
    ``rnn-mnist: error: ...`` message on stderr. 2: a bad argument or output location (the same
    kind of message; jsonargparse's own type errors also exit with 2). ``--version`` prints
    ``rnn-mnist <version>`` and exits with 0. A fit stopped by Ctrl-C (1) or SIGTERM (143) says
    how to resume it. Unexpected errors keep their traceback.
    """
    argv = sys.argv[1:] if args is None else args
    if argv[:1] == ["demo"]:  # a web page, not a Trainer run: no LightningCLI
        from lightning_module.demo.cli import main as demo_main

        return demo_main(argv[1:])
    try:
        return run_cli(args).exit_code
    except KNOWN_ERRORS as exc:
        print_error(str(exc))
        return 2 if isinstance(exc, BAD_ARGUMENTS) else 1
    except SIGTERMException:  # a fit's InterruptReport has said how to resume
        return SIGTERM_EXIT_STATUS
    except OSError as exc:
        if exc.errno not in DISK_FULL:
            raise
        print_error(disk_full_message(exc))
        return 1
    finally:
        # Lightning leaves the DDP process group up; tearing gloo's threads down at interpreter
        # exit instead can abort the process ("terminate called without an active exception").
        if torch.distributed.is_available() and torch.distributed.is_initialized():
            torch.distributed.destroy_process_group()


def command() -> int:
    """The ``rnn-mnist`` command (its console script, and ``python -m lightning_module.cli``)."""
    return main()


if __name__ == "__main__":
    sys.exit(command())
