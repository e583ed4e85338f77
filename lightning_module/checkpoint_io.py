"""Checkpoint files written atomically, so a run killed mid-save never leaves a broken file.

Lightning's ``TorchCheckpointIO`` writes straight into the final name; ``last.ckpt`` and
``best.ckpt`` are rewritten in place every epoch, so a kill during that write would destroy the
only resumable checkpoint. Here the bytes go to a temporary file in the same folder first and
``os.replace`` then swaps it in (the old checkpoint stays valid until that instant).
"""

from __future__ import annotations

import os
from typing import Any

from pytorch_lightning.plugins.io import TorchCheckpointIO

from lightning_module.atomic import atomic_output


class AtomicTorchCheckpointIO(TorchCheckpointIO):
    """``TorchCheckpointIO`` whose ``save_checkpoint`` writes via a temporary file + rename."""

    def save_checkpoint(
        self,
        checkpoint: dict[str, Any],
        path: str | os.PathLike,
        storage_options: Any | None = None,
    ) -> None:
        with atomic_output(path) as temporary:
            super().save_checkpoint(checkpoint, temporary, storage_options=storage_options)
