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
        "cpu_model": cpu_model(),
        "cpus": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        "cudnn": torch.backends.cudnn.version() if torch.cuda.is_available() else None,
    }


def cpu_model() -> str | None:
    """The CPU's model name, with its family and model numbers where the name is generic (as
    in virtual machines), from /proc/cpuinfo; elsewhere ``platform.processor()``, which on
    Linux is empty."""
    fields = {}
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                key, _, value = line.partition(":")
                if not key.strip():
                    break  # the first processor's block is enough
                fields.setdefault(key.strip(), value.strip())
    except OSError:
        return platform.processor() or None
    name = fields.get("model name")
    if not name:
        return platform.processor() or None
    if "cpu family" in fields and "model" in fields:
        name += f" (family {fields['cpu family']}, model {fields['model']})"
    return name
