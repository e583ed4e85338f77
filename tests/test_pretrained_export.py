"""scripts/export_pretrained.py: best checkpoints cut to weights + hyperparameters, with cards."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
import torch
from scripts_loader import load_script
from tiny_cli import tiny_args

import lightning_module.pretrained as pretrained
from lab.export_pretrained import KEPT_KEYS, ExportError, export_pretrained
from lightning_module import RecurrentClassifier
from lightning_module.cli import main
from lightning_module.training.checkpoint_io import CheckpointError

pytestmark = pytest.mark.filterwarnings("ignore:LightningCLI's args parameter")


def write_results(path: Path, checkpoint: str, **overrides) -> Path:
    run = {
        "config": "tiny",
        "cell": "lstm",
        "hidden_size": 8,
        "pixels_per_step": 28,
        "epochs": 3,
        "best_epoch": 1,
        "best_val_acc": 0.25,
        "test_acc": 0.375,
        "test_loss": 2.5,
        "best_checkpoint": checkpoint,
        **overrides,
    }
    report = {"command": "python scripts/reproduce.py tiny", "environment": {"torch": "x"}}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({**report, "runs": [run]}))
    return path


@pytest.fixture
def exported(tiny_checkpoint, tmp_path, monkeypatch) -> Path:
    """The tiny checkpoint exported as pretrained model "tiny", which the package then ships."""
    ckpt, _ = tiny_checkpoint
    results = write_results(tmp_path / "results" / "reproduce.json", str(ckpt))
    out = tmp_path / "pretrained"
    export_pretrained(results, out, "48666b2")
    monkeypatch.setattr(pretrained, "FOLDER", out)
    monkeypatch.setattr(pretrained, "CARDS_FILE", out / "cards.json")
    return out


def test_export_keeps_only_what_loading_needs_and_the_same_weights(tiny_checkpoint, exported):
    ckpt, _ = tiny_checkpoint
    original = torch.load(ckpt, weights_only=True)
    shipped = torch.load(exported / "tiny.ckpt", weights_only=True)
    assert {"optimizer_states", "loops", "callbacks", "lr_schedulers"} <= set(original)
    assert set(shipped) == set(KEPT_KEYS) & set(original)
    assert "state_dict" in shipped and "hyper_parameters" in shipped
    assert shipped["pytorch-lightning_version"] == original["pytorch-lightning_version"]
    assert shipped["hyper_parameters"] == original["hyper_parameters"]
    assert shipped["state_dict"].keys() == original["state_dict"].keys()
    for name, tensor in original["state_dict"].items():
        assert torch.equal(shipped["state_dict"][name], tensor)
    assert (exported / "tiny.ckpt").stat().st_size < ckpt.stat().st_size
    assert sorted(p.name for p in exported.iterdir()) == ["cards.json", "tiny.ckpt"]  # no temp


def test_exporting_again_writes_the_same_bytes(tiny_checkpoint, exported, tmp_path):
    ckpt, _ = tiny_checkpoint
    results = write_results(tmp_path / "again" / "results" / "reproduce.json", str(ckpt))
    export_pretrained(results, tmp_path / "again" / "out", "48666b2")
    for name in ("tiny.ckpt", "cards.json"):
        assert (tmp_path / "again" / "out" / name).read_bytes() == (exported / name).read_bytes()


def test_the_card_copies_the_results_and_records_the_commit_command_and_sha256(exported):
    card = json.loads((exported / "cards.json").read_text())["models"]["tiny"]
    assert card["test_acc"] == 0.375 and card["best_val_acc"] == 0.25
    assert (card["epochs"], card["best_epoch"], card["cell"], card["hidden_size"]) == (
        3,
        1,
        "lstm",
        8,
    )
    assert card["commit"] == "48666b2"
    assert card["command"] == "python scripts/reproduce.py tiny"
    assert card["file"] == "tiny.ckpt"
    assert card["sha256"] == hashlib.sha256((exported / "tiny.ckpt").read_bytes()).hexdigest()
    assert card["bytes"] == (exported / "tiny.ckpt").stat().st_size


def test_an_exported_model_loads_by_name_in_eval_on_the_cpu_with_the_same_outputs(
    tiny_checkpoint, exported
):
    ckpt, _ = tiny_checkpoint
    model = RecurrentClassifier.pretrained("tiny")
    assert not model.training and model.device == torch.device("cpu")
    reference = RecurrentClassifier.load_from_checkpoint(ckpt).eval()
    x = torch.rand(3, 28, 28)
    with torch.no_grad():
        torch.testing.assert_close(model(x), reference(x))


def test_cli_test_and_predict_take_pretrained_name_as_ckpt_path(
    tiny_checkpoint, exported, tmp_path
):
    ckpt, data = tiny_checkpoint
    from lightning_module.cli import run_cli

    by_name = run_cli(["test", *tiny_args(data, tmp_path / "a"), "--ckpt_path", "pretrained:tiny"])
    by_file = run_cli(["test", *tiny_args(data, tmp_path / "b"), "--ckpt_path", str(ckpt)])
    assert (
        by_name.trainer.callback_metrics["test_acc"] == by_file.trainer.callback_metrics["test_acc"]
    )
    assert by_name.model.hparams.hidden_size == 8  # the checkpoint's, not the default 128
    output = tmp_path / "predictions.csv"
    args = ["--ckpt_path", "pretrained:tiny", "--predictions.output", str(output)]
    assert main(["predict", *tiny_args(data, tmp_path / "c"), *args]) == 0
    assert len(output.read_text().splitlines()) == 101  # header + the 100 test images


def test_export_refuses_a_checkpoint_that_does_not_match_its_results_row_and_writes_nothing(
    tiny_checkpoint, tmp_path
):
    ckpt, _ = tiny_checkpoint
    results = write_results(tmp_path / "results" / "r.json", str(ckpt), cell="gru")
    with pytest.raises(ExportError, match="holds a lstm-8 model, but .* reports gru-8 for 'tiny'"):
        export_pretrained(results, tmp_path / "out", "48666b2")
    assert not (tmp_path / "out").exists()


def test_export_refuses_a_missing_checkpoint_a_bad_commit_and_a_bad_results_file(tmp_path):
    results = write_results(tmp_path / "results" / "r.json", "runs/gone/best.ckpt")
    with pytest.raises(CheckpointError, match="runs/gone/best.ckpt not found"):
        export_pretrained(results, tmp_path / "out", "48666b2")
    with pytest.raises(ExportError, match="--commit must be a git commit hash"):
        export_pretrained(results, tmp_path / "out", "HEAD")
    (tmp_path / "bad.json").write_text("{}")
    with pytest.raises(ExportError, match="bad.json: not a reproduce.json results file"):
        export_pretrained(tmp_path / "bad.json", tmp_path / "out", "48666b2")
    assert not (tmp_path / "out").exists()


def test_the_script_resolves_relative_checkpoints_from_the_results_folders_parent(
    tiny_checkpoint, tmp_path, capsys
):
    ckpt, _ = tiny_checkpoint
    checkout = tmp_path / "checkout"
    (checkout / "runs").mkdir(parents=True)
    (checkout / "runs" / "best.ckpt").write_bytes(ckpt.read_bytes())
    results = write_results(checkout / "results" / "reproduce.json", "runs/best.ckpt")
    script = load_script("export_pretrained")
    out = tmp_path / "out"
    assert script.main([str(results), "--commit", "48666b2", "--output-dir", str(out)]) == 0
    assert "| `tiny` | lstm | 8 | 3 | 1 | 37.50% |" in capsys.readouterr().out
    assert (out / "tiny.ckpt").is_file()
    assert script.main([str(tmp_path / "nope.json"), "--commit", "48666b2"]) == 2
    assert "export_pretrained: error: " in capsys.readouterr().err


def test_a_failed_write_leaves_the_shipped_checkpoints_and_cards_as_they_were(
    tiny_checkpoint, tmp_path, monkeypatch
):
    ckpt, _ = tiny_checkpoint
    results = tmp_path / "results" / "r.json"
    run = json.loads(write_results(results, str(ckpt)).read_text())["runs"][0]
    results.write_text(
        json.dumps({"command": "c", "runs": [run, {**run, "config": "other"}]}), encoding="utf-8"
    )
    out = tmp_path / "out"
    out.mkdir()
    before = {name: f"old {name}".encode() for name in ("tiny.ckpt", "other.ckpt", "cards.json")}
    for name, content in before.items():
        (out / name).write_bytes(content)
    write_bytes = Path.write_bytes
    written = []

    def disk_full_at_the_third_file(path, data):
        written.append(path)
        if len(written) == 3:
            raise OSError(28, "No space left on device")
        return write_bytes(path, data)

    monkeypatch.setattr(Path, "write_bytes", disk_full_at_the_third_file)
    with pytest.raises(OSError, match="No space left"):
        export_pretrained(results, out, "48666b2")
    assert len(written) == 3
    assert {path.name: path.read_bytes() for path in out.iterdir()} == before
    monkeypatch.setattr(Path, "write_bytes", write_bytes)
    document = export_pretrained(results, out, "48666b2")
    assert sorted(document["models"]) == ["other", "tiny"]
    assert sorted(path.name for path in out.iterdir()) == ["cards.json", "other.ckpt", "tiny.ckpt"]
    for name, card in document["models"].items():
        shipped = (out / card["file"]).read_bytes()
        assert (
            card["bytes"] == len(shipped) and card["sha256"] == hashlib.sha256(shipped).hexdigest()
        ), name
