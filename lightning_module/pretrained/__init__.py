"""The pretrained models shipped in the package: one weights-only checkpoint per config, and
``cards.json``, the model card of each (how it was trained, its test accuracy, its sha256).

``--ckpt_path pretrained:<name>``, ``load_pretrained(name)`` and
``RecurrentClassifier.pretrained(name)`` resolve names here.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from lightning_module.training.checkpoint_io import CheckpointError

FOLDER = Path(__file__).resolve().parent
CARDS_FILE = FOLDER / "cards.json"
PREFIX = "pretrained:"


class PretrainedModelError(CheckpointError):
    """An unknown pretrained model name, or a use a weights-only checkpoint cannot serve."""


def load_cards() -> dict[str, dict[str, Any]]:
    """Name -> model card (``cards.json``'s ``models``); empty when none is shipped."""
    if not CARDS_FILE.is_file():
        return {}
    return json.loads(CARDS_FILE.read_text(encoding="utf-8"))["models"]


def known_names() -> list[str]:
    return sorted(load_cards())


def pretrained_checkpoint(name: str) -> Path:
    """The shipped checkpoint of pretrained model ``name``.

    Raises:
        PretrainedModelError: ``name`` is not a shipped model (the message lists those that are).
    """
    cards = load_cards()
    if name not in cards:
        known = ", ".join(sorted(cards)) or "none: this installation ships no pretrained models"
        raise PretrainedModelError(f"unknown pretrained model {name!r} (known: {known})")
    return FOLDER / cards[name]["file"]


def resolve_ckpt_path(ckpt_path: str | os.PathLike | None, subcommand: str) -> Any:
    """``pretrained:<name>`` -> the path of that shipped checkpoint; any other value unchanged.

    Raises:
        PretrainedModelError: an unknown name, or ``fit``, which would resume a training whose
            optimizer and loop state the shipped checkpoints do not hold.
    """
    if ckpt_path is None or not str(ckpt_path).startswith(PREFIX):
        return ckpt_path
    path = pretrained_checkpoint(str(ckpt_path)[len(PREFIX) :])
    if subcommand == "fit":
        raise PretrainedModelError(
            f"--ckpt_path {ckpt_path}: pretrained models hold weights only and cannot resume a "
            "fit; use them with validate, test or predict"
        )
    return str(path)


def resolve_ckpt_path_in_config(config: Any) -> None:
    """Apply :func:`resolve_ckpt_path` to a parsed LightningCLI config's ``ckpt_path``."""
    subcommand = config.get("subcommand")
    if subcommand and config[subcommand].get("ckpt_path") is not None:
        key = f"{subcommand}.ckpt_path"
        config[key] = resolve_ckpt_path(config[key], subcommand)


def load_pretrained(name: str):
    """A shipped pretrained ``RecurrentClassifier`` ("rnn", "gru", "lstm" or "practical"), on the
    CPU, in eval mode.

    Raises ``PretrainedModelError`` (a ``CheckpointError``) listing the known names for any
    other; ``cards.json`` beside this file says how each was trained and scored.
    """
    from lightning_module.model import RecurrentClassifier

    model = RecurrentClassifier.load_from_checkpoint(
        pretrained_checkpoint(name), map_location="cpu"
    )
    model.net.use_kernels_for("cpu")
    return model.eval()
