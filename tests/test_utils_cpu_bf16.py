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


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        ("fpu sse2 avx2 avx512f", False),
        ("fpu avx512f avx512_bf16 avx512_vnni", True),
        ("fpu amx_tile amx_bf16", True),
        ("fpu avx512_bf16x", False),  # a longer flag name is not the flag
    ],
)
def test_native_bf16_is_read_from_the_kernels_cpu_flags(tmp_path, flags, expected):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text(f"processor\t: 0\nflags\t\t: {flags}\nbugs\t\t: none\n")
    assert cpu_bf16.cpu_has_native_bf16(str(cpuinfo)) is expected


def test_without_readable_cpu_flags_the_answer_is_unknown_and_nothing_warns(tmp_path, monkeypatch):
    assert cpu_bf16.cpu_has_native_bf16(str(tmp_path / "missing")) is None
    monkeypatch.setattr(cpu_bf16, "cpu_has_native_bf16", lambda: None)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert not cpu_bf16.warn_if_bf16_is_emulated("bf16-mixed", torch.device("cpu"))
