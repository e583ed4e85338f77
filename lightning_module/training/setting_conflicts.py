"""Pairs of fit settings where one silently defeats the other, refused before any work,
naming both and the file or option that gave each (merged configs can mix two recipes)."""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any

from pytorch_lightning.callbacks import EarlyStopping, ModelCheckpoint

from lightning_module.model import MONITORABLE
from lightning_module.training.config_files import CONFIG_OPTION
from lightning_module.training.config_sources import source_of

# What a metric's name says about its direction: accuracies rise, losses and L2 terms fall.
RISING_SUFFIXES = ("_acc",)
FALLING_SUFFIXES = ("_loss", "_l2")
# What a wrong mode does, per section.
WRONG_MODE_EFFECT = {
    "early_stopping": "early stopping would end the fit while {monitor} still improves",
    "checkpoint": "best.ckpt would keep the epoch where {monitor} is worst",
}


class SettingConflict(ValueError):
    """Two settings that cannot both hold; the message names both and where each came from."""


def direction(monitor: str) -> str | None:
    if monitor.endswith(RISING_SUFFIXES):
        return "max"
    if monitor.endswith(FALLING_SUFFIXES):
        return "min"
    return None


class Origins:
    """Names a setting with its value and the file or option it came from."""

    def __init__(
        self, argv: list[str], contents: Mapping[str, Any], fixed: str | None = None
    ) -> None:
        self.argv, self.contents, self.fixed = argv, contents, fixed

    def source(self, dotted: str) -> str:
        return self.fixed or source_of(dotted, self.argv, self.contents)

    def __call__(self, dotted: str, value: Any) -> str:
        return f"{dotted}={value} (from {self.source(dotted)})"

    def mixed(self, *dotted: str) -> str:
        """A note when the settings come from different config files (a merge of recipes)."""
        files = {self.source(name) for name in dotted} & set(self.contents)
        if len(files) < 2:
            return ""
        return f" (several {CONFIG_OPTION} files merge key by key: this mixes two recipes)"


def check_monitor_mode(
    section: str, monitor: Any, mode: Any, origin: Origins, label: str | None = None
) -> None:
    """Refuse a loss monitored in ``max`` mode or an accuracy in ``min`` mode; ``label``
    names the callback when it is not the ``section`` of the command."""
    if monitor not in MONITORABLE or mode not in ("min", "max"):
        return  # a metric the model does not log is refused by name later
    wanted = direction(monitor)
    if wanted is None or wanted == mode:
        return
    kind = "an accuracy, best when highest" if wanted == "max" else "a loss, best when lowest"
    name = label or section
    fix = f"--{section}.mode {wanted}" if label is None else f"its mode: {wanted}"
    raise SettingConflict(
        f"{origin(f'{name}.monitor', monitor)} is {kind}, but {origin(f'{name}.mode', mode)} "
        f"asks for its {'maximum' if mode == 'max' else 'minimum'}: "
        f"{WRONG_MODE_EFFECT[section].format(monitor=monitor)}"
        f"{origin.mixed(f'{name}.monitor', f'{name}.mode')}; set {fix}"
    )


def configured_callbacks(trainer: Any) -> list[tuple[type, Mapping[str, Any]]]:
    """(class, init_args) of each ``trainer.callbacks`` entry given as class_path/init_args."""
    callbacks = trainer.get("callbacks") if isinstance(trainer, Mapping) else None
    found = []
    for entry in callbacks if isinstance(callbacks, list) else [callbacks]:
        if not isinstance(entry, Mapping) or not isinstance(entry.get("class_path"), str):
            continue
        module, _, name = entry["class_path"].rpartition(".")
        try:
            found.append((getattr(importlib.import_module(module), name), entry.get("init_args")))
        except (ImportError, AttributeError, ValueError):
            continue  # the parser has already refused a class it cannot import
    return found


def check_fit_settings(fit: Mapping[str, Any], argv: list[str], contents: Mapping[str, Any]):
    """Refuse settings of a parsed fit (``LightningCLI.config.fit``, as a dict) that defeat
    each other; ``contents`` are the command's config files, for naming where a value came from.
    """
    origin = Origins(argv, contents)
    for section in ("early_stopping", "checkpoint"):
        settings = fit.get(section)
        if isinstance(settings, Mapping):
            check_monitor_mode(
                section, settings.get("monitor"), settings.get("mode", "min"), origin
            )
    trainer = fit.get("trainer") or {}
    in_callbacks = Origins([], {}, fixed="trainer.callbacks")
    for cls, init_args in configured_callbacks(trainer):
        init_args = init_args or {}
        for base, section in ((EarlyStopping, "early_stopping"), (ModelCheckpoint, "checkpoint")):
            if isinstance(cls, type) and issubclass(cls, base):
                check_monitor_mode(
                    section,
                    init_args.get("monitor"),
                    init_args.get("mode", "min"),
                    in_callbacks,
                    label=cls.__name__,
                )
    check_trainer_lengths(trainer, origin)
    check_schedule(fit.get("model") or {}, trainer, origin)


def check_trainer_lengths(trainer: Mapping[str, Any], origin: Origins) -> None:
    """min_epochs / min_steps above max_epochs / max_steps: the fit ends at the maximum."""
    for unit in ("epochs", "steps"):
        least, most = trainer.get(f"min_{unit}"), trainer.get(f"max_{unit}")
        if least is None or most in (None, -1) or least <= most:
            continue
        low, high = f"trainer.min_{unit}", f"trainer.max_{unit}"
        raise SettingConflict(
            f"{origin(low, least)} is more than {origin(high, most)}: the fit stops at "
            f"max_{unit}, so min_{unit} never applies{origin.mixed(low, high)}; set "
            f"min_{unit} to at most max_{unit}"
        )


def check_schedule(model: Mapping[str, Any], trainer: Mapping[str, Any], origin: Origins) -> None:
    """The plateau schedule steps on every epoch's val_loss; one-cycle needs a fixed length."""
    schedule = model.get("lr_schedule")
    every = trainer.get("check_val_every_n_epoch")
    if schedule == "plateau" and every != 1 and not trainer.get("fast_dev_run"):
        validates = f"validates only every {every} epochs" if every else "not every epoch"
        names = ("model.lr_schedule", "trainer.check_val_every_n_epoch")
        raise SettingConflict(
            f"{origin(names[0], schedule)} lowers the learning rate on each epoch's val_loss, "
            f"but {origin(names[1], every)} {validates}, so the schedule would find no val_loss"
            f"{origin.mixed(*names)}: set check_val_every_n_epoch 1, or another lr_schedule"
        )
    if schedule == "onecycle" and trainer.get("max_epochs") in (None, -1):
        if trainer.get("max_steps") in (None, -1):
            raise SettingConflict(
                f"{origin('model.lr_schedule', schedule)} spreads the learning rate over the "
                f"whole fit, but {origin('trainer.max_epochs', trainer.get('max_epochs'))} and "
                f"{origin('trainer.max_steps', trainer.get('max_steps'))} set no end: give "
                "max_epochs or max_steps"
            )
