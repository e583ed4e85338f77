"""The CLI flushes float32 denormals to zero, so that long BPTT (gradients shrinking into
denormals, many times slower on x86 CPUs) stays fast."""

from __future__ import annotations

import torch
from tiny_cli import tiny_args

from lab.configs import resolve_config
from lightning_module.cli import run_cli


def test_the_cli_flushes_float32_denormals_to_zero_so_long_bptt_stays_fast(mnist_dir, tmp_path):
    def flushed() -> bool:
        return torch.tensor([1e-39]).mul(1.0).item() == 0.0  # 1e-39 is a float32 denormal

    torch.set_flush_denormal(False)
    assert not flushed()
    config = str(resolve_config("lstm"))
    args = ["--config", config, *tiny_args(mnist_dir, tmp_path, name=None)]
    try:
        run_cli(args, run=False)
        assert flushed()
    finally:
        torch.set_flush_denormal(False)
