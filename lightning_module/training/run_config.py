"""The fit's ``config.yaml``, written into its run folder (never over an earlier file).

LightningCLI's ``SaveConfigCallback`` writes into ``trainer.log_dir``; the CLI gives this one
the run folder it claimed instead, through the callback's documented ``save_config`` extension.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytorch_lightning as pl
from pytorch_lightning.cli import SaveConfigCallback


class RunConfigCallback(SaveConfigCallback):
    """Save the parsed config as ``<folder>/<config_filename>`` on rank 0 when a fit starts.

    ``folder`` is set by the CLI once the run folder exists; without one (``fast_dev_run``,
    or other ranks) nothing is written.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["save_to_log_dir"] = False
        kwargs.setdefault("overwrite", False)
        super().__init__(*args, **kwargs)
        self.folder: Path | None = None

    def save_config(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        if self.folder is None:
            return
        self.parser.save(
            self.config,
            str(Path(self.folder) / self.config_filename),
            skip_unset=False,  # keep settings that are None: the file reproduces the run
            overwrite=self.overwrite,
            multifile=self.multifile,
        )
