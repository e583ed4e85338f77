"""scripts/same_training.py: a short fit in two checkouts, compared by weights digest."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import torch
from scripts_loader import CONFIG_DIR, load_script
from tiny_cli import tiny_args

REPO_ROOT = Path(__file__).resolve().parents[1]


def test_the_same_checkout_twice_trains_identically_and_says_so(mnist_dir, tmp_path, capsys):
    results = tmp_path / "results"
    extra = [*tiny_args(mnist_dir, None, name=None), "--trainer.max_epochs", "1"]
    args = [str(REPO_ROOT), str(REPO_ROOT), "--config", "lstm", "--results-dir", str(results)]
    assert load_script("same_training").main([*args, "--report", "twice", "--", *extra]) == 0
    assert sorted(path.name for path in results.iterdir()) == ["twice.json", "twice.md"]
    report = json.loads((results / "twice.json").read_text())
    first, second = report["runs"]
    assert report["identical"] and first["weights_sha256"] == second["weights_sha256"]
    assert first["test_acc"] == second["test_acc"] and 0 <= first["test_acc"] <= 1
    assert first["epoch"] == 0 and first["global_step"] > 0
    head = subprocess.run(
        ["git", "-C", str(REPO_ROOT), "rev-parse", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    assert first["commit"] in (head, f"{head}+changes"), first["commit"]
    assert f"`{head[:12]}`" in (results / "twice.md").read_text()
    assert "**identical**" in (results / "twice.md").read_text()
    assert capsys.readouterr().out.strip().endswith("identical")


def test_the_digest_sees_one_changed_bit_a_dtype_and_a_name():
    from lab.same_training import weights_digest

    weights = {"a": torch.zeros(3), "b": torch.ones(2, 2)}
    base = weights_digest(weights)
    assert weights_digest({"b": torch.ones(2, 2), "a": torch.zeros(3)}) == base  # order-free
    flipped = torch.zeros(3)
    flipped[1] = torch.finfo(torch.float32).tiny  # one bit set: float32's smallest normal number
    assert weights_digest({**weights, "a": flipped}) != base
    assert weights_digest({**weights, "a": torch.zeros(3, dtype=torch.float64)}) != base
    assert weights_digest({"c": torch.zeros(3), "b": torch.ones(2, 2)}) != base


def test_test_scores_are_read_from_lightnings_table_not_from_the_model_summary():
    from lab.same_training import test_scores

    output = "\n".join(
        [
            "2 | test_acc | MulticlassAccuracy | 0      | train | 0",
            "│         test_acc          │    0.5357999801635742     │",
            "│         test_loss         │    1.4185307025909424     │",
        ]
    )
    assert test_scores(output) == {"test_acc": 0.5357999801635742, "test_loss": 1.4185307025909424}


def test_the_commit_of_a_checkout_says_whether_its_tracked_files_changed(tmp_path):
    from lab.same_training import checkout_commit, short_commit

    def git(*args):
        subprocess.run(["git", "-C", str(tmp_path), *args], check=True, capture_output=True)

    assert checkout_commit(tmp_path) is None
    git("init", "-q")
    (tmp_path / "a.py").write_text("1")
    git("add", "a.py")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "a")
    commit = checkout_commit(tmp_path)
    assert len(commit) == 40 and short_commit(commit) == f"`{commit[:12]}`"
    (tmp_path / "untracked.txt").write_text("not part of the code")
    assert checkout_commit(tmp_path) == commit
    (tmp_path / "a.py").write_text("2")
    assert checkout_commit(tmp_path) == f"{commit}+changes"
    assert short_commit(f"{commit}+changes") == f"`{commit[:12]}` with uncommitted changes"
    assert short_commit(None) == "not a git checkout"


def test_a_folder_that_is_no_checkout_exits_2_before_training(tmp_path, capsys):
    args = [str(tmp_path), str(REPO_ROOT), "--results-dir", str(tmp_path / "r")]
    assert load_script("same_training").main(args) == 2
    assert "is not a checkout of this repository" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize("threads", ["0", "x"])
def test_bad_threads_exit_2(threads):
    with pytest.raises(SystemExit) as exited:
        load_script("same_training").main([".", ".", "--threads", threads])
    assert exited.value.code == 2


def test_a_fit_that_fails_in_the_second_checkout_keeps_the_first_in_a_partial_report(
    tmp_path, monkeypatch
):
    from lab import same_training as tool

    other = tmp_path / "other"
    (other / "lightning_module").mkdir(parents=True)
    (other / "lightning_module" / "cli.py").write_text("")
    results = tmp_path / "results"
    (results).mkdir()
    (results / "same_training.json").write_text("earlier report")

    def train(folder, config, extra_args, threads):
        if folder == other.resolve():
            raise RuntimeError("the fit in other failed")
        return {"checkout": str(folder), "weights_sha256": "ab" * 32}

    monkeypatch.setattr(tool, "train_in", train)
    with pytest.raises(RuntimeError, match="the fit in other failed"):
        tool.same_training([REPO_ROOT, other], "lstm", CONFIG_DIR, results, "cmd", say=print)
    partial = json.loads((results / "same_training.partial.json").read_text())
    assert [run["checkout"] for run in partial["runs"]] == [str(REPO_ROOT.resolve())]
    assert (results / "same_training.json").read_text() == "earlier report"
    assert not (results / "same_training.md").exists()
