"""Shared fixtures: a synthetic MNIST folder, and the real one when ``MNIST_DATA_DIR`` is set."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
import scripts_loader  # noqa: F401  (puts scripts/ on sys.path: tests import lab)
import torch
from synthetic_mnist import IDX_FILES, write_synthetic_mnist
from tiny_cli import tiny_args

N_TRAIN, N_TEST = 300, 100


@pytest.fixture(scope="session")
def _synthetic_mnist_master(tmp_path_factory) -> Path:
    return write_synthetic_mnist(tmp_path_factory.mktemp("mnist_master"), N_TRAIN, N_TEST)


@pytest.fixture
def mnist_dir(_synthetic_mnist_master, tmp_path) -> Path:
    """A per-test copy of the synthetic MNIST root (holding ``MNIST/raw/``), safe to damage."""
    root = tmp_path / "data"
    shutil.copytree(_synthetic_mnist_master, root)
    return root


@pytest.fixture
def unreadable_data(tmp_path) -> Path:
    """A data root whose four IDX files exist but are garbage: reading any of them fails."""
    raw = tmp_path / "garbage" / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for name in IDX_FILES:
        (raw / name).write_bytes(b"not an IDX file at all")
    return tmp_path / "garbage"


@pytest.fixture(scope="session")
def tiny_checkpoint(_synthetic_mnist_master, tmp_path_factory) -> tuple[Path, Path]:
    """(best.ckpt of a one-epoch fit with ``tiny_args``, the data root it used); read-only."""
    from lightning_module.cli import run_cli

    root = tmp_path_factory.mktemp("tiny_fit")
    data = shutil.copytree(_synthetic_mnist_master, root / "data")
    run_cli(["fit", *tiny_args(data, root / "runs"), "--trainer.max_epochs", "1"])
    return root / "runs" / "tiny" / "version_0" / "checkpoints" / "best.ckpt", data


@pytest.fixture
def real_mnist_dir() -> Path:
    """The real MNIST root from ``MNIST_DATA_DIR``: skips without it, fails under ``CI=true``."""
    value = os.environ.get("MNIST_DATA_DIR")
    if not value or not (Path(value) / "MNIST" / "raw").is_dir():
        message = f"real MNIST not found (MNIST_DATA_DIR={value!r})"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message + "; CI must provide it")
        pytest.skip(message)
    return Path(value)


@pytest.fixture(scope="session")
def cpp_kernel():
    """FusedGRU's C++ recurrence (built on first use): skips where no compiler or ninja is
    found, fails under ``CI=true`` or when the build itself fails."""
    from lightning_module.gru.build import unavailable_reason
    from lightning_module.gru.recurrence import cpp_recurrence

    reason = unavailable_reason()
    if reason is not None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"the C++ GRU recurrence can't be built here ({reason}); CI must build it")
        pytest.skip(f"the C++ GRU recurrence can't be built here: {reason}")
    return cpp_recurrence(required=True)


@pytest.fixture
def torch_threads():
    """``torch.set_num_threads`` for one test; torch's thread count is restored afterwards."""
    before = torch.get_num_threads()
    yield torch.set_num_threads
    torch.set_num_threads(before)


@pytest.fixture
def kernel_unavailable(monkeypatch):
    """This process behaves as if the C++ recurrence could not be built (no compiler)."""
    from lightning_module.gru import build

    monkeypatch.setattr(build, "_loaded", [(None, "no C++ compiler (test)")])
    monkeypatch.setattr(build, "_warned", set())


def pytest_collection_modifyitems(config, items):
    if torch.cuda.is_available():
        return
    skip_gpu = pytest.mark.skip(reason="needs a CUDA device")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip_gpu)
