"""Keep torch's "is there a GPU?" question cheap on machines without NVIDIA's driver.

Adam asks it on every step; under Lightning, on a CUDA build of torch without the driver, each
answer costs a failed attempt to load NVML. ``skip_missing_nvml_probe`` removes that attempt.
"""

from __future__ import annotations

import ctypes
import os
import sys

NVML_ENV = "PYTORCH_NVML_BASED_CUDA_CHECK"
NVML_LIBRARY = "libnvidia-ml.so.1"  # the name torch.cuda loads on Linux


def nvml_loadable() -> bool:
    """Whether NVIDIA's management library can be loaded in this process."""
    try:
        ctypes.CDLL(NVML_LIBRARY)
    except OSError:
        return False
    return True


def skip_missing_nvml_probe() -> bool:
    """Drop ``PYTORCH_NVML_BASED_CUDA_CHECK`` where NVML cannot be loaded; True if dropped.

    lightning_fabric sets the variable at import so that ``torch.cuda.is_available()`` asks
    NVML, which does not initialise CUDA and so keeps forked workers usable. Where NVML is
    missing, torch tries to load it again on every call (``torch.optim.Adam`` calls
    ``torch.accelerator.current_accelerator(check_available=True)`` on every step), fails, and
    asks the CUDA runtime instead, which is what it does without the variable. Dropping it
    then changes no answer and saves that failed load per step. Linux only (the library name
    is Linux's); a machine with the driver keeps the variable.
    """
    if os.environ.get(NVML_ENV) != "1" or not sys.platform.startswith("linux"):
        return False
    if nvml_loadable():
        return False
    del os.environ[NVML_ENV]
    return True
