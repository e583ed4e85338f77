"""skip_missing_nvml_probe: drops Lightning's NVML switch only where NVML cannot be loaded."""

from __future__ import annotations

import sys

import pytest
import torch

from lightning_module.utils import gpu_probe
from lightning_module.utils.gpu_probe import NVML_ENV, skip_missing_nvml_probe

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux library name")


@linux_only
@pytest.mark.parametrize(("loadable", "dropped"), [(False, True), (True, False)])
def test_dropped_only_when_nvml_cannot_load(monkeypatch, loadable, dropped):
    monkeypatch.setenv(NVML_ENV, "1")
    monkeypatch.setattr(gpu_probe, "nvml_loadable", lambda: loadable)
    assert skip_missing_nvml_probe() is dropped
    assert (NVML_ENV in gpu_probe.os.environ) is not dropped


def test_left_alone_when_not_set(monkeypatch):
    monkeypatch.delenv(NVML_ENV, raising=False)
    monkeypatch.setattr(gpu_probe, "nvml_loadable", lambda: False)
    assert skip_missing_nvml_probe() is False
    assert NVML_ENV not in gpu_probe.os.environ


@linux_only
def test_without_nvml_torch_gives_the_cuda_runtimes_answer_either_way(monkeypatch):
    # with NVML missing, torch's NVML path falls back to the CUDA runtime's count: dropping the
    # switch changes no answer
    monkeypatch.setenv(NVML_ENV, "1")
    monkeypatch.setattr(torch.cuda, "_device_count_nvml", lambda: -1)  # as when NVML is absent
    monkeypatch.setattr(torch.cuda, "_cached_device_count", None)
    runtime = torch.cuda._is_compiled() and torch._C._cuda_getDeviceCount() > 0
    assert torch.cuda.is_available() == runtime
    monkeypatch.setattr(gpu_probe, "nvml_loadable", lambda: False)
    assert skip_missing_nvml_probe() is True
    assert torch.cuda.is_available() == runtime


@linux_only
def test_model_setup_drops_it_without_nvml(monkeypatch, tmp_path):
    import pytorch_lightning as pl

    from lightning_module import RecurrentClassifier

    monkeypatch.setenv(NVML_ENV, "1")
    monkeypatch.setattr(gpu_probe, "nvml_loadable", lambda: False)
    model = RecurrentClassifier(cell="rnn", hidden_size=4)
    trainer = pl.Trainer(accelerator="cpu", logger=False, default_root_dir=tmp_path)
    model.trainer = trainer
    model.setup("fit")
    assert NVML_ENV not in gpu_probe.os.environ
