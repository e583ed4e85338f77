"""Unusable checkpoints are refused clearly and never run code; writes are atomic.

Every bad file is tried through ``RecurrentClassifier.load_from_checkpoint`` and through the CLI's
``--ckpt_path`` (fit, test, predict); the malicious pickles would create a marker folder if any
loader unpickled them with ``weights_only=False``.
"""

from __future__ import annotations

import os
import pickle
import signal
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from matplotlib.figure import Figure
from scripts_loader import CONFIG_DIR
from tiny_cli import tiny_args

from lab import reproduce as reproduce_module
from lightning_module import RecurrentClassifier
from lightning_module.cli import main
from lightning_module.training.checkpoint_io import AtomicTorchCheckpointIO, CheckpointError
from lightning_module.training.curves import plot_curves
from lightning_module.training.predictions import PredictionCSVWriter

pytestmark = pytest.mark.filterwarnings("ignore:LightningCLI's args parameter")

ATOMIC_PY = Path(__file__).resolve().parents[1] / "lightning_module" / "utils" / "atomic.py"


class MakesAFolder:
    """Unpickling this calls os.mkdir(path): code execution, if a loader allowed it."""

    def __init__(self, path: Path) -> None:
        self.path = str(path)

    def __reduce__(self):
        return (os.mkdir, (self.path,))


def bad_checkpoint(kind: str, folder: Path, good: Path) -> tuple[Path, str]:
    """Write a bad checkpoint of ``kind``; return it and a phrase its error must contain."""
    path = folder / f"{kind.replace(' ', '_')}.ckpt"
    blob = good.read_bytes()
    if kind == "truncated":
        path.write_bytes(blob[: len(blob) // 2])
        return path, "cannot be read: it is truncated, corrupt or not a checkpoint"
    if kind == "empty":
        path.write_bytes(b"")
        return path, "is an empty file"
    if kind == "text file":
        path.write_text("this is not a checkpoint\n")
        return path, "cannot be read"
    if kind == "tensor":
        torch.save(torch.ones(3), path)
        return path, "is not a Lightning checkpoint (no 'state_dict' entry; found Tensor)"
    if kind == "missing":
        return path, "not found"
    if kind == "code in torch.save":
        torch.save({"state_dict": {}, "payload": MakesAFolder(folder / "marker")}, path)
        return path, "refused: a weights-only load"
    if kind == "code in pickle":
        with open(path, "wb") as handle:
            pickle.dump({"state_dict": {}, "payload": MakesAFolder(folder / "marker")}, handle)
        return path, "refused: a weights-only load"
    raise ValueError(kind)


KINDS = [
    "truncated",
    "empty",
    "text file",
    "tensor",
    "missing",
    "code in torch.save",
    "code in pickle",
]


@pytest.fixture
def no_weights_only_default(monkeypatch):
    """Ask torch to unpickle everything wherever a caller leaves weights_only unset."""
    monkeypatch.setenv("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", "1")


@pytest.mark.parametrize("kind", KINDS)
def test_load_from_checkpoint_refuses_a_bad_file_naming_it_and_never_runs_its_code(
    kind, tiny_checkpoint, tmp_path, no_weights_only_default
):
    path, phrase = bad_checkpoint(kind, tmp_path, tiny_checkpoint[0])
    with pytest.raises(CheckpointError) as error:
        RecurrentClassifier.load_from_checkpoint(path)
    assert f"checkpoint {path}" in str(error.value) and phrase in str(error.value)
    with pytest.raises(CheckpointError):
        AtomicTorchCheckpointIO().load_checkpoint(path)  # what the Trainer's ckpt_path uses
    assert not (tmp_path / "marker").exists()


@pytest.mark.parametrize("subcommand", ["fit", "test", "predict"])
@pytest.mark.parametrize("kind", KINDS)
def test_the_cli_refuses_a_bad_ckpt_path_in_one_line_before_writing_anything(
    kind, subcommand, tiny_checkpoint, tmp_path, capsys, no_weights_only_default
):
    path, phrase = bad_checkpoint(kind, tmp_path, tiny_checkpoint[0])
    runs = tmp_path / "runs"
    code = main(
        [
            subcommand,
            *tiny_args(tiny_checkpoint[1], runs),
            "--ckpt_path",
            str(path),
            "--predictions.output",
            str(tmp_path / "out.csv"),
        ]
    )
    err = capsys.readouterr().err
    assert code == 1
    assert f"rnn-mnist: error: checkpoint {path}" in err and phrase in err
    assert "Traceback" not in err
    assert not runs.exists() and not (tmp_path / "out.csv").exists()
    assert not (tmp_path / "marker").exists()


def test_a_checkpoint_of_another_architecture_is_refused_naming_what_differs(tiny_checkpoint):
    with pytest.raises(CheckpointError) as error:
        RecurrentClassifier.load_from_checkpoint(tiny_checkpoint[0], hidden_size=16)
    message = str(error.value)
    assert "saved from a different architecture" in message
    assert "You passed hidden_size=16 (the checkpoint has 8)" in message
    assert "net.rnn.weight_hh_l0 has shape (32, 8) there but (64, 16) here" in message


def test_the_cli_refuses_a_checkpoint_without_hyperparameters_that_does_not_fit_the_model(
    tiny_checkpoint, tmp_path, capsys
):
    # Without saved hyperparameters LightningCLI cannot adopt the checkpoint's architecture.
    checkpoint = torch.load(tiny_checkpoint[0], weights_only=True)
    del checkpoint["hyper_parameters"]
    foreign = tmp_path / "foreign.ckpt"
    torch.save(checkpoint, foreign)
    code = main(
        [
            "test",
            *tiny_args(tiny_checkpoint[1], tmp_path / "runs"),
            "--model.hidden_size",
            "16",
            "--ckpt_path",
            str(foreign),
        ]
    )
    err = capsys.readouterr().err
    assert code == 1
    assert "rnn-mnist: error: the checkpoint was saved from a different architecture" in err
    assert "net.rnn.weight_hh_l0 has shape (32, 8) there but (64, 16) here" in err
    assert "Traceback" not in err


def test_a_good_checkpoint_still_loads_with_weights_only(tiny_checkpoint):
    model = RecurrentClassifier.load_from_checkpoint(tiny_checkpoint[0])
    saved = torch.load(tiny_checkpoint[0], weights_only=True)["state_dict"]
    assert all(torch.equal(value, saved[name]) for name, value in model.state_dict().items())


# --- atomic writes ------------------------------------------------------------------------------


def test_a_process_killed_mid_write_leaves_the_previous_file_and_only_a_hidden_temporary(
    tmp_path,
):
    target = tmp_path / "results.json"
    target.write_text('{"old": true}\n')
    script = (
        "import importlib.util, sys, time\n"
        f"spec = importlib.util.spec_from_file_location('atomic', {str(ATOMIC_PY)!r})\n"
        "atomic = importlib.util.module_from_spec(spec); spec.loader.exec_module(atomic)\n"
        "with atomic.atomic_output(sys.argv[1]) as temporary:\n"
        "    with open(temporary, 'w') as handle:\n"
        "        handle.write('{\"new\": tr'); handle.flush()\n"
        "        print('writing', flush=True); time.sleep(120)\n"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", script, str(target)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout.readline().strip() == "writing"
        process.send_signal(signal.SIGKILL)
        assert process.wait(timeout=30) == -signal.SIGKILL
    finally:
        if process.poll() is None:
            process.kill()
    assert target.read_text() == '{"old": true}\n'
    leftovers = [p for p in tmp_path.iterdir() if p != target]
    assert len(leftovers) == 1 and leftovers[0].name.startswith(".results.json.")
    assert leftovers[0].name.endswith(".tmp") and leftovers[0].read_text() == '{"new": tr'


def half_then_fail(original):
    """A replacement for a write method that writes half of its data, then fails."""

    def write(self, data, *args, **kwargs):
        original(self, data[: len(data) // 2], *args, **kwargs)
        raise OSError("disk full (test)")

    return write


def test_a_failing_predictions_csv_write_keeps_the_previous_csv(tmp_path, monkeypatch):
    output = tmp_path / "predictions.csv"
    writer = PredictionCSVWriter(output=str(output))
    datamodule = SimpleNamespace(
        predict_names=[], predict_labels=None, predict_failures=[("a.png", "empty file")]
    )
    writer.write(datamodule)
    previous = output.read_text()
    datamodule.predict_failures = [("b.png", "not an image"), ("c.png", "empty file")]
    monkeypatch.setattr(Path, "write_text", half_then_fail(Path.write_text))
    with pytest.raises(OSError, match="disk full"):
        writer.write(datamodule)
    monkeypatch.undo()
    assert output.read_text() == previous and "a.png" in previous
    assert [p.name for p in tmp_path.iterdir()] == ["predictions.csv"]


def test_a_failing_plot_write_keeps_the_previous_png(tmp_path, monkeypatch):
    from torch.utils.tensorboard import SummaryWriter

    run = tmp_path / "run"
    with SummaryWriter(str(run)) as writer:
        for epoch in range(2):
            for name in ("train_loss", "val_loss", "train_acc", "val_acc"):
                writer.add_scalar(name, 1.0 / (epoch + 1), epoch)
            writer.add_scalar("epoch", epoch, epoch)
    out = tmp_path / "plots"
    paths = plot_curves(run, out)
    previous = {path: path.read_bytes() for path in paths}

    def broken_savefig(self, fname, *args, **kwargs):
        Path(fname).write_bytes(b"\x89PNG half")
        raise OSError("disk full (test)")

    monkeypatch.setattr(Figure, "savefig", broken_savefig)
    with pytest.raises(OSError, match="disk full"):
        plot_curves(run, out)
    monkeypatch.undo()
    assert {path: path.read_bytes() for path in paths} == previous
    assert sorted(p.name for p in out.iterdir()) == sorted(p.name for p in paths)


def test_a_failing_results_write_keeps_the_previous_json_and_markdown(tmp_path, monkeypatch):
    row = {
        "config": "lstm",
        "cell": "lstm",
        "hidden_size": 8,
        "epochs": 1,
        "best_epoch": 1,
        "best_val_acc": 0.9,
        "test_acc": 0.9,
        "wall_time_s": 1.0,
        "train_samples_per_s": 10.0,
    }
    monkeypatch.setattr(reproduce_module, "train_config", lambda path, extra: dict(row))
    reproduce_module.reproduce(["lstm"], tmp_path, [], "cmd", CONFIG_DIR)
    previous = {p.name: p.read_text() for p in tmp_path.iterdir()}
    assert set(previous) == {"reproduce.json", "reproduce.md"}
    monkeypatch.setattr(Path, "write_text", half_then_fail(Path.write_text))
    with pytest.raises(OSError, match="disk full"):
        reproduce_module.reproduce(["lstm", "gru"], tmp_path, [], "cmd", CONFIG_DIR)
    monkeypatch.undo()
    assert {p.name: p.read_text() for p in tmp_path.iterdir()} == previous
