"""Accelerators and precision: mixed precision through the CLI on CPU, and (marked ``gpu``,
skipped without CUDA) accelerator=auto, every precision, cuDNN RNNs and on-device data on a GPU.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from tiny_cli import tiny_args
from torch import nn

from data import MNISTDataModule
from lightning_module.cli import run_cli
from lightning_module.gru.fused_gru import FusedGRU
from lightning_module.network import SequenceClassifierNet

pytestmark = pytest.mark.filterwarnings("ignore:LightningCLI's args parameter")


def fast_dev_run(data_dir: Path, runs: Path, *options: str):
    """One training, validation and test batch of a tiny model through the CLI."""
    return run_cli(
        [
            "fit",
            *tiny_args(data_dir, runs, name=None),
            "--trainer.fast_dev_run",
            "true",
            *options,
        ]
    )


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_bf16_mixed_precision_trains_a_fast_dev_run_on_cpu(mnist_dir, tmp_path, cell):
    cli = fast_dev_run(
        mnist_dir,
        tmp_path,
        "--trainer.accelerator",
        "cpu",
        "--trainer.precision",
        "bf16-mixed",
        "--model.cell",
        cell,
    )
    assert cli.trainer.precision == "bf16-mixed"
    assert cli.trainer.global_step == 1
    assert torch.isfinite(torch.tensor(cli.test_results[0]["test_loss"]))
    assert 0 <= cli.test_results[0]["test_acc"] <= 1


# --- on a GPU ---------------------------------------------------------------------------------


@pytest.mark.gpu
@pytest.mark.parametrize("precision", ["32-true", "bf16-mixed", "16-mixed"])
def test_accelerator_auto_trains_on_the_gpu_in_each_precision(mnist_dir, tmp_path, precision):
    cli = fast_dev_run(
        mnist_dir, tmp_path, "--trainer.accelerator", "auto", "--trainer.precision", precision
    )
    assert cli.trainer.strategy.root_device.type == "cuda"
    assert cli.trainer.precision == precision
    assert next(cli.model.parameters()).device.type == "cuda"
    assert cli.trainer.global_step == 1
    assert torch.isfinite(torch.tensor(cli.test_results[0]["test_loss"]))


@pytest.mark.gpu
def test_gru_auto_becomes_torch_gru_on_cuda_and_keeps_its_weights(mnist_dir, tmp_path):
    cli = fast_dev_run(mnist_dir, tmp_path, "--model.cell", "gru", "--model.gru_impl", "auto")
    assert type(cli.model.net.rnn) is nn.GRU
    cpu_net = SequenceClassifierNet("gru", hidden_size=8, gru_impl="auto")
    assert type(cpu_net.rnn) is FusedGRU
    state = cpu_net.state_dict()
    cpu_net.use_kernels_for("cuda")
    assert type(cpu_net.rnn) is nn.GRU
    for name, value in cpu_net.state_dict().items():
        assert torch.equal(value.cpu(), state[name]), name


@pytest.mark.gpu
@pytest.mark.parametrize("cell", ["rnn", "gru", "lstm"])
def test_recurrent_layers_run_cudnn_kernels_on_the_gpu(cell):
    net = SequenceClassifierNet(cell, hidden_size=16, gru_impl="auto").to("cuda")
    net.use_kernels_for("cuda")
    x = torch.rand(4, 28, 28, device="cuda")
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as profile:
        net(x).sum().backward()
    names = {event.name for event in profile.events()}
    assert "aten::_cudnn_rnn" in names, sorted(n for n in names if "rnn" in n.lower())


@pytest.mark.gpu
def test_on_device_data_module_serves_batches_sliced_on_the_gpu(mnist_dir, tmp_path):
    datamodule = MNISTDataModule(str(mnist_dir), val_size=100, batch_size=25, on_device=True)
    datamodule.setup("fit")
    images, labels = next(iter(datamodule.train_dataloader()))
    assert images.device.type == "cuda" and labels.device.type == "cuda"
    assert images.shape == (25, 28, 28)
    cli = fast_dev_run(mnist_dir, tmp_path, "--data.on_device", "true")
    assert cli.trainer.global_step == 1
