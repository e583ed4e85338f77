"""Each shipped pretrained model scores its card's test accuracy on the real 10,000 test images."""

from __future__ import annotations

import hashlib

import pytest
import torch

from data import MNISTDataModule
from lightning_module import RecurrentClassifier
from lightning_module.pretrained import load_cards, pretrained_checkpoint

pytestmark = [pytest.mark.real_data, pytest.mark.slow]


@pytest.mark.parametrize("name", ["rnn", "gru", "lstm", "practical"])
def test_shipped_model_matches_its_card_in_sha256_and_test_accuracy(name, real_mnist_dir):
    card = load_cards()[name]
    path = pretrained_checkpoint(name)
    assert hashlib.sha256(path.read_bytes()).hexdigest() == card["sha256"]
    model = RecurrentClassifier.pretrained(name)
    data = MNISTDataModule(data_dir=str(real_mnist_dir), batch_size=100)
    data.prepare_data()
    data.setup("test")
    correct = total = 0
    with torch.no_grad():
        for images, labels in data.test_dataloader():
            correct += int((model(images).argmax(dim=1) == labels).sum())
            total += len(labels)
    assert total == 10_000
    assert correct / total == pytest.approx(card["test_acc"], abs=1e-4)


@pytest.mark.filterwarnings("ignore:LightningCLI's args parameter")
def test_cli_test_of_pretrained_lstm_reports_its_cards_accuracy(real_mnist_dir, tmp_path):
    from lightning_module.cli import run_cli

    cli = run_cli(
        [
            "test",
            "--ckpt_path",
            "pretrained:lstm",
            "--data.data_dir",
            str(real_mnist_dir),
            "--trainer.enable_progress_bar",
            "false",
            "--trainer.logger.init_args.save_dir",
            str(tmp_path / "runs"),
        ]
    )
    accuracy = float(cli.trainer.callback_metrics["test_acc"])
    assert accuracy == pytest.approx(load_cards()["lstm"]["test_acc"], abs=1e-4)
