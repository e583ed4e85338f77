"""The warning for bf16 autocast on a CPU that emulates bfloat16."""

from __future__ import annotations

import warnings

import pytest
import torch

from lightning_module.utils import cpu_bf16


@pytest.mark.parametrize("native", [True, False])
def test_bf16_on_a_cpu_warns_only_where_bf16_is_emulated(monkeypatch, native):
    monkeypatch.setattr(cpu_bf16, "cpu_has_native_bf16", lambda: native)
    cpu = torch.device("cpu")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warned = cpu_bf16.warn_if_bf16_is_emulated("bf16-mixed", cpu)
    assert warned is (not native)
    messages = [str(w.message) for w in caught]
    if native:
        assert messages == []
    else:
        assert len(messages) == 1 and "--trainer.precision bf16-mixed" in messages[0]
        assert "32-true" in messages[0]


def test_other_precisions_and_other_devices_never_warn(monkeypatch):
    monkeypatch.setattr(cpu_bf16, "cpu_has_native_bf16", lambda: False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert not cpu_bf16.warn_if_bf16_is_emulated("32-true", torch.device("cpu"))
        assert not cpu_bf16.warn_if_bf16_is_emulated("16-mixed", torch.device("cpu"))
        assert not cpu_bf16.warn_if_bf16_is_emulated("bf16-mixed", torch.device("cuda"))


def test_native_bf16_is_read_from_the_cpu_flags_torch_reports(monkeypatch):
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: False)
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: False)
    assert not cpu_bf16.cpu_has_native_bf16()
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: True)
    assert cpu_bf16.cpu_has_native_bf16()
