"""scripts/reproduce.py on the synthetic fixture: trains configs via the CLI, writes the table."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from scripts_loader import CONFIG_DIR, load_script
from tiny_cli import tiny_args

from lab.configs import resolve_config
from lab.same_training import weights_digest
from lightning_module.training.curves import read_epoch_curves

pytestmark = pytest.mark.filterwarnings("ignore:LightningCLI's args parameter")


def test_reproduce_trains_each_config_and_writes_json_and_markdown(mnist_dir, tmp_path):
    results = tmp_path / "results"
    code = load_script("reproduce").main(
        [
            "lstm",
            "gru",
            "--results-dir",
            str(results),
            "--report",
            "tiny",
            "--",
            *tiny_args(mnist_dir, tmp_path / "runs", name=None),
            "--trainer.max_epochs",
            "2",
        ]
    )
    assert code == 0
    report = json.loads((results / "tiny.json").read_text())
    assert [run["config"] for run in report["runs"]] == ["lstm", "gru"]
    for run in report["runs"]:
        assert run["epochs"] == 2
        assert run["train_samples"] == 2 * 200  # 300 training images minus 100 for validation
        speed = run["train_samples"] / run["train_seconds"]
        assert run["train_samples_per_s"] == pytest.approx(speed)
        assert run["train_seconds"] < run["wall_time_s"]
        curves = read_epoch_curves(run["log_dir"], ("val_loss", "val_acc", "test_acc"))
        best_epoch, best_loss = min(curves["val_loss"], key=lambda point: point[1])
        assert run["best_epoch"] == best_epoch
        assert run["best_val_loss"] == pytest.approx(best_loss)
        assert run["best_val_acc"] == dict(curves["val_acc"])[best_epoch]
        assert run["test_acc"] == pytest.approx(curves["test_acc"][-1][1])
        assert Path(run["best_checkpoint"]).name == "best.ckpt"
        best = torch.load(run["best_checkpoint"], map_location="cpu", weights_only=True)
        assert run["weights_sha256"] == weights_digest(best["state_dict"])
    digests = [run["weights_sha256"] for run in report["runs"]]
    assert len(set(digests)) == 2 and all(len(digest) == 64 for digest in digests)
    table = (results / "tiny.md").read_text()
    assert "--results-dir" in table
    for run in report["runs"]:
        assert f"| {run['config']} | {run['cell']} | 8 | 2 |" in table
        assert f"{100 * run['test_acc']:.2f}%" in table
    assert sorted(p.name for p in results.iterdir()) == ["tiny.json", "tiny.md"]


def test_reproduce_refuses_an_unknown_config_before_training(tmp_path, capsys):
    results = str(tmp_path / "results")
    code = load_script("reproduce").main(["lstm", "nonexistent", "--results-dir", results])
    assert code == 2
    assert "nonexistent" in capsys.readouterr().err
    assert not (tmp_path / "results").exists()


def test_config_names_resolve_to_the_yaml_files_in_scripts_configs():
    assert resolve_config("lstm", CONFIG_DIR).name == "lstm.yaml"
    assert resolve_config(str(resolve_config("gru", CONFIG_DIR)), CONFIG_DIR) == resolve_config(
        "gru", CONFIG_DIR
    )


@pytest.mark.parametrize("stem", [None, "threads1"])
def test_a_failure_half_way_keeps_the_rows_so_far_and_the_last_complete_report(
    stem, tmp_path, monkeypatch
):
    from lab import reproduce as tool

    name = stem or "reproduce"
    (tmp_path / f"{name}.json").write_text("earlier report")
    (tmp_path / f"{name}.md").write_text("earlier table")

    def train(path, extra):
        if path.stem == "gru":
            raise RuntimeError("gru diverged")
        return {"config": path.stem}

    monkeypatch.setattr(tool, "train_config", train)
    with pytest.raises(RuntimeError, match="gru diverged"):
        if stem is None:
            tool.reproduce(["lstm", "gru"], tmp_path, [], "cmd", CONFIG_DIR)
        else:
            tool.reproduce(["lstm", "gru"], tmp_path, [], "cmd", CONFIG_DIR, stem)
    assert (tmp_path / f"{name}.json").read_text() == "earlier report"
    assert (tmp_path / f"{name}.md").read_text() == "earlier table"
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted(
        f"{name}{ending}" for ending in (".json", ".md", ".partial.json")
    )
    partial = json.loads((tmp_path / f"{name}.partial.json").read_text())
    assert partial["runs"] == [{"config": "lstm"}]
