"""The machine and library versions a benchmark or reproduction ran on, for its results JSON."""

from __future__ import annotations

import os
import platform
from importlib import metadata
from typing import Any


def environment() -> dict[str, Any]:
    """Python, torch, Lightning, CPU and GPU facts; read at call time (threads may be set)."""
    import torch

    try:
        lightning = metadata.version("pytorch-lightning")
    except metadata.PackageNotFoundError:
        lightning = None
    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "pytorch_lightning": lightning,
        "machine": platform.machine(),
        "processor": platform.processor() or None,
        "cpus": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        "cudnn": torch.backends.cudnn.version() if torch.cuda.is_available() else None,
    }
