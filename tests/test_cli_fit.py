"""The rnn-mnist CLI on the synthetic fixture: fit, best-checkpoint test, resume, TensorBoard."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch
from pytorch_lightning.callbacks import ModelCheckpoint
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.plugins.hparams import plugin_data_pb2
from tiny_cli import tiny_args

from lightning_module import RecurrentClassifier
from lightning_module.cli import main, run_cli
from lightning_module.training.checkpoint_io import AtomicTorchCheckpointIO
from lightning_module.training.curves import plot_curves, read_epoch_curves
from lightning_module.training.predictions import PredictionCSVWriter

pytestmark = pytest.mark.filterwarnings("ignore:LightningCLI's args parameter")


def events(folder: Path) -> EventAccumulator:
    accumulator = EventAccumulator(str(folder), size_guidance={"scalars": 0, "images": 0})
    accumulator.Reload()
    return accumulator


@pytest.fixture(scope="module")
def fitted(_synthetic_mnist_master, tmp_path_factory):
    """One 3-epoch fit (patience high enough to run all three), shared by several tests."""
    root = tmp_path_factory.mktemp("fitted")
    data = shutil.copytree(_synthetic_mnist_master, root / "data")
    args = [
        "fit",
        *tiny_args(data, root / "runs"),
        "--model.lr",
        "0.01",
        "--trainer.max_epochs",
        "3",
        "--early_stopping.patience",
        "10",
    ]
    cli = run_cli(args)
    return cli, root, data


def test_fit_with_fast_dev_run_trains_validates_and_tests_one_batch_without_checkpoints(
    mnist_dir, tmp_path
):
    cli = run_cli(
        ["fit", *tiny_args(mnist_dir, tmp_path / "runs"), "--trainer.fast_dev_run", "true"]
    )
    assert cli.trainer.global_step == 1
    assert set(cli.test_results[0]) >= {"test_loss", "test_acc", "test_data_loss", "test_l2"}
    assert not list(tmp_path.rglob("*.ckpt"))


def test_fit_keeps_best_and_true_last_checkpoints_in_its_run_folder(fitted):
    cli, root, _ = fitted
    folder = root / "runs" / "tiny" / "version_0" / "checkpoints"
    assert sorted(p.name for p in folder.iterdir()) == ["best.ckpt", "last.ckpt"]
    assert isinstance(cli.trainer.strategy.checkpoint_io, AtomicTorchCheckpointIO)
    last = torch.load(folder / "last.ckpt", weights_only=True, map_location="cpu")
    assert last["epoch"] == 2  # the final epoch, whether or not it was the best
    assert last["global_step"] == cli.trainer.global_step
    best = torch.load(folder / "best.ckpt", weights_only=True, map_location="cpu")
    curves = read_epoch_curves(root / "runs" / "tiny" / "version_0", ("val_loss",))["val_loss"]
    best_epoch, best_loss = min(curves, key=lambda point: point[1])
    assert best["epoch"] == best_epoch - 1
    assert cli.trainer.checkpoint_callback.best_model_score.item() == pytest.approx(best_loss)


def test_fit_tests_the_best_checkpoint_and_its_results_match_a_separate_test_run(fitted):
    cli, root, data = fitted
    best = root / "runs" / "tiny" / "version_0" / "checkpoints" / "best.ckpt"
    best_weights = torch.load(best, weights_only=True)["state_dict"]
    for name, value in cli.model.state_dict().items():  # the tested weights are the best ones
        assert torch.equal(value, best_weights[name]), name
    again = run_cli(["test", *tiny_args(data, root / "runs", "retest"), "--ckpt_path", str(best)])
    for name in ("test_loss", "test_acc"):
        separate = again.trainer.callback_metrics[name].item()
        assert cli.test_results[0][name] == pytest.approx(separate)
    restored = RecurrentClassifier.load_from_checkpoint(best)
    assert restored.hparams.hidden_size == 8 and restored.hparams.lr == 0.01


def test_fit_writes_per_epoch_curves_figures_and_hparams_with_final_metrics_to_tensorboard(fitted):
    cli, root, _ = fitted
    run = events(root / "runs" / "tiny" / "version_0")
    tags = run.Tags()
    for name in (
        "train_loss",
        "train_acc",
        "train_data_loss",
        "train_l2",
        "val_loss",
        "val_acc",
        "test_loss",
        "test_acc",
        "hp/test_acc",
        "hp/best_val_loss",
    ):
        assert name in tags["scalars"], name
    assert len(run.Scalars("train_loss")) == 3  # once per epoch, never per step
    assert len(run.Scalars("val_acc")) == 3
    for name in (
        "val/confusion_matrix",
        "val/misclassified",
        "test/confusion_matrix",
        "test/misclassified",
    ):
        assert name in tags["images"], name
    assert len(run.Images("val/confusion_matrix")) == 3
    assert run.Scalars("hp/test_acc")[-1].value == pytest.approx(cli.test_results[0]["test_acc"])
    content = run.PluginTagToContent("hparams")["_hparams_/session_start_info"]
    start = plugin_data_pb2.HParamsPluginData.FromString(content).session_start_info
    assert start.hparams["cell"].string_value == "lstm"
    assert start.hparams["hidden_size"].number_value == 8
    experiment = plugin_data_pb2.HParamsPluginData.FromString(
        run.PluginTagToContent("hparams")["_hparams_/experiment"]
    ).experiment
    metric_tags = {info.name.tag for info in experiment.metric_infos}
    assert {"hp/test_acc", "hp/test_loss", "hp/best_val_loss"} <= metric_tags


def test_plot_curves_draws_loss_and_accuracy_pngs_from_the_run(fitted, tmp_path):
    _, root, _ = fitted
    paths = plot_curves(root / "runs" / "tiny", tmp_path)  # the name folder: newest version
    assert [p.name for p in paths] == ["loss.png", "accuracy.png"]
    for path in paths:
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    curves = read_epoch_curves(root / "runs" / "tiny" / "version_0", ("train_acc", "val_acc"))
    assert [epoch for epoch, _ in curves["val_acc"]] == [1, 2, 3]
    assert not list(tmp_path.glob("*.tmp"))


def test_plot_curves_names_the_missing_folder_or_event_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="not a folder"):
        plot_curves(tmp_path / "nowhere")
    with pytest.raises(FileNotFoundError, match="no TensorBoard event files"):
        plot_curves(tmp_path)


def test_fit_resumes_from_the_last_checkpoint_with_ckpt_path_last(mnist_dir, tmp_path):
    args = ["fit", *tiny_args(mnist_dir, tmp_path / "runs"), "--early_stopping.patience", "10"]
    first = run_cli([*args, "--trainer.max_epochs", "1"])
    steps_per_epoch = first.trainer.global_step
    first_config = (first.run_folder / "config.yaml").read_bytes()
    resumed = run_cli([*args, "--trainer.max_epochs", "2", "--ckpt_path", "last"])
    assert resumed.trainer.current_epoch == 2
    assert resumed.trainer.global_step == 2 * steps_per_epoch  # epoch 1 was not trained again
    folder = tmp_path / "runs" / "tiny" / "version_0"  # resumed in the first run's own folder
    last_path = folder / "checkpoints" / "last.ckpt"
    assert torch.load(last_path, weights_only=True)["epoch"] == 1
    assert sorted(p.name for p in folder.parent.iterdir()) == ["latest", "version_0"]
    assert (folder / "config.yaml").read_bytes() == first_config  # the resume adds its own
    assert f"ckpt_path: {last_path}" in (folder / "config.resumed_1.yaml").read_text()


def test_print_config_prints_the_full_configuration_and_exits(mnist_dir, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["fit", "--data.data_dir", str(mnist_dir), "--model.cell", "gru", "--print_config"])
    assert exit_info.value.code == 0
    printed = capsys.readouterr().out
    for expected in (
        "cell: gru",
        "seed_everything: 1234",
        "early_stopping:",
        "patience: 5",
        "max_epochs: 100",
        "TensorBoardLogger",
        "output: predictions.csv",
    ):
        assert expected in printed, expected


def test_bad_model_argument_is_refused_before_any_file_is_written(mnist_dir, tmp_path):
    with pytest.raises(ValueError, match="pixels_per_step must divide 784"):
        run_cli(["fit", *tiny_args(mnist_dir, tmp_path / "runs"), "--model.pixels_per_step", "27"])
    assert not (tmp_path / "runs").exists()


def test_a_fit_trainer_carries_no_prediction_writer(mnist_dir, tmp_path):
    # Lightning calls every callback at every hook of every step: predict's writer is left out
    # (test_cli_predict covers predict, which writes its CSV through it)

    args = ["fit", *tiny_args(mnist_dir, tmp_path / "runs"), "--trainer.fast_dev_run", "true"]
    callbacks = run_cli(args).trainer.callbacks
    assert not any(isinstance(cb, PredictionCSVWriter) for cb in callbacks)
    assert any(isinstance(cb, ModelCheckpoint) for cb in callbacks)
