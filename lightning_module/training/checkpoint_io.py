"""Checkpoint files: written atomically, read only as weights, refused clearly when unusable.

Lightning's ``TorchCheckpointIO`` writes straight into the final name; ``last.ckpt`` and
``best.ckpt`` are rewritten in place every epoch, so a kill during that write would destroy the
only resumable checkpoint. Here the bytes go to a temporary file in the same folder first and
``os.replace`` then swaps it in (the old checkpoint stays valid until that instant; a kill
mid-write can leave a hidden ``.<name>.*.tmp`` file behind, never a broken ``<name>``).

Reading always uses ``torch.load(weights_only=True)`` (tensors and plain Python values only),
so a checkpoint can never run code while it is loaded, whatever ``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD``
says; every way a file can fail to be a checkpoint becomes one ``CheckpointError`` naming it.
"""

from __future__ import annotations

import os
import pickle
from typing import Any

import torch
from pytorch_lightning.plugins.io import TorchCheckpointIO

from lightning_module.training.disk_full import DISK_FULL
from lightning_module.utils.atomic import atomic_output

# The hyperparameters that decide what the weights mean: a checkpoint fits a model only where
# these agree (permute_seed only matters when the pixels are permuted).
ARCHITECTURE_HPARAMS = (
    "cell",
    "hidden_size",
    "num_layers",
    "num_classes",
    "pixels_per_step",
    "permute",
    "permute_seed",
)


class CheckpointError(ValueError):
    """A checkpoint file that is missing, unreadable, unsafe, or does not fit the model."""


def architecture_differences(
    saved: dict[str, Any], asked: dict[str, Any]
) -> list[tuple[str, Any, Any]]:
    """(name, asked value, saved value) of each architecture setting both give differently.

    The one answer to "does this checkpoint fit this model?": the CLI asks it with the
    command's own model settings, ``RecurrentClassifier.load_from_checkpoint`` with its
    overrides, ``on_load_checkpoint`` with the model being loaded into.

    Args:
        saved: the checkpoint's hyperparameters.
        asked: the settings it must agree with (names it lacks are not compared).
    """
    permuted = bool(saved.get("permute")) or bool(asked.get("permute"))
    return [
        (name, asked[name], saved[name])
        for name in ARCHITECTURE_HPARAMS
        if name in saved and name in asked and asked[name] != saved[name]
        if name != "permute_seed" or permuted
    ]


def read_checkpoint(path: str | os.PathLike, map_location: Any = None) -> dict[str, Any]:
    """Load a Lightning checkpoint with ``weights_only=True`` and check it has a ``state_dict``.

    Raises:
        CheckpointError: the file is missing, empty, truncated or corrupt, holds objects a
            weights-only load refuses (code could run), is not a Lightning checkpoint, or holds
            NaN/inf weights.
    """
    if not os.path.isfile(path):
        raise CheckpointError(f"checkpoint {path} not found (or not a file)")
    if os.path.getsize(path) == 0:
        raise CheckpointError(f"checkpoint {path} is an empty file")
    try:
        checkpoint = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as exc:
        detail = next(
            (line for line in str(exc).splitlines() if "GLOBAL" in line or "Unsupported" in line),
            "not a torch.save file",
        ).strip()
        raise CheckpointError(
            f"checkpoint {path} refused: a weights-only load (tensors and plain values, so no code "
            f"can run) cannot read it ({detail}); it is corrupt, or holds Python objects: load "
            "such a file only if you trust it, outside rnn-mnist"
        ) from None
    except Exception as exc:  # torch.load fails in many ways on a damaged file; all mean that
        detail = str(exc).splitlines()[0].split(". ")[0][:200] if str(exc) else "no detail"
        raise CheckpointError(
            f"checkpoint {path} cannot be read: it is truncated, corrupt or not a checkpoint "
            f"({type(exc).__name__}: {detail})"
        ) from None
    if not isinstance(checkpoint, dict) or not isinstance(checkpoint.get("state_dict"), dict):
        raise CheckpointError(
            f"checkpoint {path} is not a Lightning checkpoint (no 'state_dict' entry; found "
            f"{type(checkpoint).__name__})"
        )
    non_finite = [
        name
        for name, value in checkpoint["state_dict"].items()
        if isinstance(value, torch.Tensor)
        and value.is_floating_point()
        and not bool(torch.isfinite(value).all())
    ]
    if non_finite:
        shown = ", ".join(non_finite[:3]) + (
            f" and {len(non_finite) - 3} more" if len(non_finite) > 3 else ""
        )
        raise CheckpointError(
            f"checkpoint {path} holds non-finite weights (NaN or inf) in {shown}: it was saved "
            "from a diverged run and would predict nothing meaningful; use an earlier checkpoint"
        )
    return checkpoint


class AtomicTorchCheckpointIO(TorchCheckpointIO):
    """``TorchCheckpointIO`` that saves via a temporary file + rename and loads weights only."""

    def save_checkpoint(
        self,
        checkpoint: dict[str, Any],
        path: str | os.PathLike,
        storage_options: Any | None = None,
    ) -> None:
        try:
            with atomic_output(path) as temporary:
                super().save_checkpoint(checkpoint, temporary, storage_options=storage_options)
        except OSError as exc:
            # Name the checkpoint, not the temporary file (or a library's own) that failed.
            if exc.errno is None or (exc.filename is not None and exc.errno not in DISK_FULL):
                raise
            raise OSError(exc.errno, exc.strerror, str(path)) from exc

    def load_checkpoint(
        self, path: str | os.PathLike, map_location: Any = None, weights_only: bool | None = None
    ) -> dict[str, Any]:
        """``read_checkpoint(path)``: always weights only (``weights_only`` is ignored)."""
        return read_checkpoint(path, map_location=map_location)
