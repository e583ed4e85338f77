"""Whether this CPU computes bfloat16 natively, and a warning when bf16 autocast would not pay.

Without AVX512-BF16 or AMX, oneDNN emulates bfloat16 matmuls with float32 arithmetic.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch


def cpu_has_native_bf16() -> bool:
    """True when this CPU has AVX512-BF16 or AMX (the instructions oneDNN's bfloat16 uses)."""
    import torch  # utils loads torch only where a function needs it

    return bool(torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported())


def warn_if_bf16_is_emulated(precision: str, device: torch.device) -> bool:
    """Warn (and return True) when ``precision`` autocasts to bfloat16 on a CPU that emulates it.

    Args:
        precision: the trainer's precision, e.g. ``"bf16-mixed"`` or ``"32-true"``.
        device: the device the model trains on.
    """
    if device.type != "cpu" or not str(precision).startswith("bf16") or cpu_has_native_bf16():
        return False
    warnings.warn(
        f"--trainer.precision {precision} on a CPU without native bfloat16 (no AVX512-BF16 or "
        "AMX): its matmuls are emulated in float32 arithmetic, so they cannot be faster than "
        "--trainer.precision 32-true here",
        RuntimeWarning,
        stacklevel=2,
    )
    return True
