"""Whether this CPU computes bfloat16 natively, and a warning when bf16 autocast would not pay.

Without AVX512-BF16 or AMX, oneDNN emulates bfloat16 matmuls with float32 arithmetic.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch


CPU_FLAGS_FILE = "/proc/cpuinfo"
NATIVE_BF16_FLAGS = ("avx512_bf16", "amx_bf16")


def cpu_has_native_bf16(cpuinfo: str = CPU_FLAGS_FILE) -> bool | None:
    """Whether this CPU has AVX512-BF16 or AMX (the instructions oneDNN's bfloat16 uses).

    Read from the kernel's CPU flags (torch has no public query); None where they cannot be
    read (not Linux), so that no warning is given on a guess.
    """
    try:
        with open(cpuinfo, encoding="utf-8", errors="replace") as lines:
            flags = next((line for line in lines if line.startswith("flags")), "")
    except OSError:
        return None
    return any(flag in flags.split() for flag in NATIVE_BF16_FLAGS)


def warn_if_bf16_is_emulated(precision: str, device: torch.device) -> bool:
    """Warn (and return True) when ``precision`` autocasts to bfloat16 on a CPU that emulates it.

    Args:
        precision: the trainer's precision, e.g. ``"bf16-mixed"`` or ``"32-true"``.
        device: the device the model trains on.
    """
    if device.type != "cpu" or not str(precision).startswith("bf16"):
        return False
    if cpu_has_native_bf16() is not False:
        return False
    warnings.warn(
        f"--trainer.precision {precision} on a CPU without native bfloat16 (no AVX512-BF16 or "
        "AMX): its matmuls are emulated in float32 arithmetic, so they cannot be faster than "
        "--trainer.precision 32-true here",
        RuntimeWarning,
        stacklevel=2,
    )
    return True
