"""Lightning's DDP strategy on CPU (2 processes, gloo) through the real ``rnn-mnist`` command.

``strategy=ddp`` relaunches the command line for rank 1, so the CLI runs in a subprocess. One
tiny fit (synthetic fixture, hidden 8, 2 epochs) is shared by the tests; they check that both
ranks trained the same epochs, that the logged metrics are synced over all ranks (they equal
the metrics of the saved weights on the whole split, which neither rank saw alone), that rank 0
alone wrote the logs, figures and checkpoints, and that the checkpoints load.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from data import MNISTDataModule
from lightning_module import RecurrentClassifier
from lightning_module.cli import console_command

EPOCHS = 2
VAL_SIZE = 100  # of the fixture's 300 training images: each rank validates 50
RNN_MNIST = console_command()


@pytest.fixture(scope="module")
def ddp_run(_synthetic_mnist_master, tmp_path_factory):
    root = tmp_path_factory.mktemp("ddp")
    data = shutil.copytree(_synthetic_mnist_master, root / "data")
    command = [
        *RNN_MNIST,
        "fit",
        "--trainer.strategy",
        "ddp",
        "--trainer.devices",
        "2",
        "--trainer.accelerator",
        "cpu",
        "--trainer.max_epochs",
        str(EPOCHS),
        "--early_stopping.patience",
        "10",
        "--trainer.enable_progress_bar",
        "false",
        "--trainer.enable_model_summary",
        "false",
        "--data.data_dir",
        str(data),
        "--data.val_size",
        str(VAL_SIZE),
        "--data.batch_size",
        "30",  # 50 val images per rank: batches of 30 and 20
        "--model.hidden_size",
        "8",
        "--model.lr",
        "0.01",
        "--trainer.logger.init_args.save_dir",
        str(root / "runs"),
        "--trainer.logger.init_args.name",
        "ddp",
    ]
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": "", "OMP_NUM_THREADS": "1"}
    done = subprocess.run(command, cwd=root, env=env, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-5000:]
    return root, data, done.stdout + done.stderr


def scalars(root: Path) -> EventAccumulator:
    events = EventAccumulator(
        str(root / "runs" / "ddp" / "version_0"), size_guidance={"scalars": 0, "images": 0}
    )
    events.Reload()
    return events


def split_metrics(checkpoint: Path, data: Path, stage: str) -> tuple[float, float]:
    """(loss, accuracy) of a checkpoint's weights over a whole split, in this one process."""
    model = RecurrentClassifier.load_from_checkpoint(checkpoint, map_location="cpu").eval()
    datamodule = MNISTDataModule(str(data), val_size=VAL_SIZE, batch_size=1000)
    datamodule.setup("fit" if stage == "val" else "test")
    loader = datamodule.val_dataloader() if stage == "val" else datamodule.test_dataloader()
    ((images, labels),) = list(loader)  # one batch: the whole split
    with torch.no_grad():
        logits = model(images)
        loss = F.cross_entropy(logits, labels) + model.l2_term()
    accuracy = (logits.argmax(1) == labels).float().mean()
    return loss.item(), accuracy.item()


def test_ddp_fit_logs_each_epochs_metrics_once_from_rank_0(ddp_run):
    root, _, _ = ddp_run
    versions = sorted(p.name for p in (root / "runs" / "ddp").iterdir())
    assert versions == ["latest", "version_0"]  # one run folder: rank 0's
    event_files = list((root / "runs" / "ddp" / "version_0").glob("events.out.tfevents.*"))
    # events.out.tfevents.<time>.<host>.<pid>.<n>: fit and the post-fit test may each open a
    # file, but all from one process
    assert event_files and len({path.name.split(".")[-2] for path in event_files}) == 1
    events = scalars(root)
    for name in ("val_acc", "val_loss", "train_acc", "train_loss"):
        steps = [event.step for event in events.Scalars(name)]
        assert len(steps) == EPOCHS and len(set(steps)) == EPOCHS, (name, steps)
    assert len(events.Images("val/confusion_matrix")) == EPOCHS
    # 200 training images / 2 ranks / batch 30 = 4 steps per epoch (ceil), the same on each rank
    assert events.Scalars("val_loss")[-1].step == EPOCHS * 4 - 1


def test_ddp_validation_metrics_are_synced_over_both_ranks(ddp_run):
    root, data, _ = ddp_run
    last = root / "runs" / "ddp" / "version_0" / "checkpoints" / "last.ckpt"
    loss, accuracy = split_metrics(last, data, "val")  # the whole split: 100 images
    events = scalars(root)
    assert events.Scalars("val_loss")[-1].value == pytest.approx(loss, rel=1e-5)
    assert events.Scalars("val_acc")[-1].value == pytest.approx(accuracy, abs=1e-6)


def test_ddp_fit_tests_the_best_checkpoint_over_the_whole_test_split(ddp_run):
    root, data, _ = ddp_run
    best = root / "runs" / "ddp" / "version_0" / "checkpoints" / "best.ckpt"
    loss, accuracy = split_metrics(best, data, "test")
    events = scalars(root)
    assert events.Scalars("test_loss")[-1].value == pytest.approx(loss, rel=1e-5)
    assert events.Scalars("test_acc")[-1].value == pytest.approx(accuracy, abs=1e-6)


def test_ddp_checkpoints_are_written_once_and_load(ddp_run):
    root, _, output = ddp_run
    folder = root / "runs" / "ddp" / "version_0" / "checkpoints"
    assert sorted(p.name for p in folder.iterdir()) == ["best.ckpt", "last.ckpt"]
    last = torch.load(folder / "last.ckpt", weights_only=True, map_location="cpu")
    assert last["epoch"] == EPOCHS - 1
    assert last["global_step"] == EPOCHS * 4
    restored = RecurrentClassifier.load_from_checkpoint(folder / "best.ckpt", map_location="cpu")
    assert restored.hparams.hidden_size == 8
    assert output.count("testing the best checkpoint") == 1  # printed by rank 0 only
