"""Build and load the C++ GRU recurrence (``csrc/gru_recurrence.cpp``) on first use.

The source ships inside the package and is compiled by ``torch.utils.cpp_extension.load`` the
first time a :class:`~lightning_module.gru.fused_gru.FusedGRU` needs it, into a folder of its own
under torch's extension cache (:func:`build_directory`: ``$TORCH_EXTENSIONS_DIR``, by default
``$XDG_CACHE_HOME/torch_extensions`` or ``~/.cache/torch_extensions``); later processes only
load the cached library (torch checks the compiler and asks ninja whether the build is
current). Building needs a C++20
compiler (torch's flags) and ``ninja`` (a dependency; the pip package's binary is found even
when the environment is not activated). When either is missing, or the
build fails, :func:`load_gru_recurrence` returns why, and ``FusedGRU(recurrence="auto")`` says
so once (a ``RuntimeWarning``) and runs the same recurrence as Python loops of ATen ops
(the same results within float rounding, slower). Set
``RNN_MNIST_CPP_KERNELS=0`` to never build it.
"""

from __future__ import annotations

import logging
import os
import platform
import shutil
import warnings
from pathlib import Path
from types import SimpleNamespace

import torch

SOURCE = Path(__file__).resolve().parent / "csrc" / "gru_recurrence.cpp"
ENV_SWITCH = "RNN_MNIST_CPP_KERNELS"
NAME = "rnn_mnist_gru_recurrence"

_log = logging.getLogger(__name__)

_loaded: list[tuple[SimpleNamespace | None, str | None]] = []  # at most one entry: the result
_warned: set[str] = set()


def _vector_flags() -> list[str]:
    """Compile for AVX2 where ATen itself runs its AVX2 or AVX512 kernels, else generic C++."""
    if torch.backends.cpu.get_cpu_capability() in ("AVX2", "AVX512"):
        return ["-mavx2", "-mfma", "-mf16c", "-DCPU_CAPABILITY_AVX2"]
    return []


def _put_pip_ninja_on_path() -> bool:
    """torch runs ``ninja`` from PATH; the pip package's binary is not there unless the
    environment is activated."""
    try:
        import ninja
    except ImportError:
        return False
    os.environ["PATH"] = ninja.BIN_DIR + os.pathsep + os.environ.get("PATH", "")
    return shutil.which("ninja") is not None


def unavailable_reason() -> str | None:
    """Why the kernel can't be built here (without trying to), or None if it may be."""
    if os.environ.get(ENV_SWITCH, "1").strip().lower() in ("0", "false", "no", "off"):
        return f"{ENV_SWITCH}={os.environ[ENV_SWITCH]} turns the C++ kernels off"
    if not SOURCE.is_file():
        return f"its source {SOURCE} is missing from the installation"
    if shutil.which("ninja") is None and not _put_pip_ninja_on_path():
        return "ninja is not on PATH (pip install ninja)"
    compiler = os.environ.get("CXX", "c++")
    if shutil.which(compiler) is None:
        return f"no C++ compiler ({compiler!r} is not on PATH; set CXX)"
    return None


def build_directory() -> Path:
    """Where the library is built and cached: one folder per Python and torch version (a
    library built against one torch is not loaded by another), under ``$TORCH_EXTENSIONS_DIR``
    where it is set, as torch's own extensions are, else the user's cache folder."""
    root = os.environ.get("TORCH_EXTENSIONS_DIR")
    if not root:
        cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
        root = str(Path(cache) / "torch_extensions")
    python = "py" + "".join(platform.python_version_tuple()[:2])
    torch_version = torch.__version__.replace("+", "_")
    return Path(root) / f"{NAME}_{python}_torch{torch_version}"


def first_build_notice(build_dir: Path) -> str | None:
    """What to tell the user before a build that will take a while: None when ``build_dir``
    already holds a built library (then loading only checks that it is current)."""
    if any(build_dir.glob(f"{NAME}*.so")):
        return None
    return (
        f"Compiling FusedGRU's C++ recurrence into {build_dir} (first use only; it takes "
        "a while, later runs load it)"
    )


def load_gru_recurrence() -> tuple[SimpleNamespace | None, str | None]:
    """Build (first time only) and load the C++ recurrence, once per process.

    Returns:
        (kernel, None) with ``kernel.forward(gx, h0, w_hh, b_hn)`` and
        ``kernel.backward(dhs, hs, rz, n, gh_n, w_hh)``, or (None, why it is not available).
    """
    if _loaded:
        return _loaded[0]
    kernel, reason = None, unavailable_reason()
    if reason is None:
        try:
            # importing cpp_extension logs a warning about CUDA_HOME on machines without CUDA,
            # which says nothing about this CPU-only build
            extension_logger = logging.getLogger("torch.utils.cpp_extension")
            level = extension_logger.level
            extension_logger.setLevel(logging.ERROR)
            try:
                from torch.utils import cpp_extension
            finally:
                extension_logger.setLevel(level)
            folder = build_directory()
            folder.mkdir(parents=True, exist_ok=True)
            notice = first_build_notice(folder)
            # one line per job, not per DDP process: only global rank 0 announces it
            if notice and os.environ.get("RANK", os.environ.get("LOCAL_RANK", "0")) == "0":
                _log.warning(notice)
            cpp_extension.load(
                name=NAME,
                sources=[str(SOURCE)],
                # -fopenmp: the row loops run in torch's OpenMP pool (the same libgomp)
                extra_cflags=["-O3", "-fopenmp", *_vector_flags()],
                extra_ldflags=["-fopenmp"],
                build_directory=str(folder),
                is_python_module=False,
                verbose=False,
            )
            ops = torch.ops.rnn_mnist
            kernel = SimpleNamespace(
                forward=ops.gru_forward_recurrence, backward=ops.gru_backward_recurrence
            )
        except Exception as error:  # a failed build must not stop training: the caller decides
            reason = f"building it failed: {type(error).__name__}: {error}"
    _loaded.append((kernel, reason))
    return kernel, reason


def warn_once(message: str) -> None:
    """A RuntimeWarning the first time ``message`` is seen in this process."""
    if message not in _warned:
        _warned.add(message)
        warnings.warn(message, RuntimeWarning, stacklevel=3)
