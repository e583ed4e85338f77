"""scripts/time_to_accuracy.py: fresh CLI processes per (config, seed), a row each, both reports."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from scripts_loader import CONFIG_DIR, load_script
from tiny_cli import tiny_args


def time_lstm(data_dir: Path, seeds: str, epochs: int, results: Path, *own: str) -> int:
    """The script on lstm.yaml with the tiny model: its exit status."""
    extra = [*tiny_args(data_dir, None, name=None), "--trainer.max_epochs", str(epochs)]
    args = ["lstm", "--seeds", seeds, "--results-dir", str(results), *own, "--", *extra]
    return load_script("time_to_accuracy").main(args)


def test_each_config_and_seed_is_one_timed_cli_run_with_its_accuracies(mnist_dir, tmp_path):
    results = tmp_path / "results"
    assert time_lstm(mnist_dir, "2", epochs=2, results=results) == 0
    report = json.loads((results / "time_to_accuracy.json").read_text())
    assert [(run["config"], run["seed"]) for run in report["runs"]] == [("lstm", 1), ("lstm", 2)]
    for run in report["runs"]:
        assert run["wall_s"] > 0 and run["epochs"] == 2 and run["load_1min"] >= 0
        assert 0 <= run["test_acc"] <= 1 and 0 <= run["best_val_acc"] <= 1
    (summary,) = report["summary"]
    assert summary["seeds"] == 2
    assert summary["min_test_acc"] == min(run["test_acc"] for run in report["runs"])
    assert summary["below_99"] == sum(run["test_acc"] < 0.99 for run in report["runs"])
    assert {"cpus", "torch", "torch_threads"} <= set(report["environment"])
    assert report["matmul_peak"]["size"] == 2048 and report["matmul_peak"]["gflops"] > 0
    assert report["matmul_peak"]["device"] == ("cuda" if torch.cuda.is_available() else "cpu")
    table = (results / "time_to_accuracy.md").read_text()
    assert "| lstm | 2 |" in table and "python scripts/time_to_accuracy.py lstm" in table
    assert "output to a pipe" in table
    assert f"fp32 matmul peak {report['matmul_peak']['gflops']:,.0f} GFLOP/s" in table
    assert f"torch.mm on {report['matmul_peak']['device']}, best of 5" in table
    assert not (results / "time_to_accuracy.partial.json").exists()  # complete: dropped


def test_a_failing_run_exits_1_with_the_end_of_its_output(tmp_path, capsys):
    assert time_lstm(tmp_path / "no-mnist", "1", epochs=1, results=tmp_path) == 1
    err = capsys.readouterr().err
    assert "lstm seed 1 failed" in err and "MNIST_DATA_DIR" in err  # the error, not a guess
    assert not (tmp_path / "time_to_accuracy.json").exists()


def test_the_default_seed_is_the_one_a_user_gets_without_seed_everything(mnist_dir, tmp_path):
    from lightning_module.cli import DEFAULT_SEED

    results = tmp_path / "results"
    seeds = f"default,{DEFAULT_SEED}"
    assert time_lstm(mnist_dir, seeds, 1, results, "--report", "variant") == 0
    report = json.loads((results / "variant.json").read_text())
    default, explicit = report["runs"]
    assert (default["seed"], explicit["seed"]) == ("default", DEFAULT_SEED)
    # the same training, bit for bit: the run without the flag used the CLI's default seed
    assert default["test_acc"] == explicit["test_acc"]
    assert default["best_val_acc"] == explicit["best_val_acc"]
    assert "| lstm | default |" in (results / "variant.md").read_text()
    assert not (results / "time_to_accuracy.json").exists()  # --report names the files


@pytest.mark.parametrize(
    "text, seeds",
    [("3", [1, 2, 3]), ("default,0-2", ["default", 0, 1, 2]), ("7,5", [7, 5])],
)
def test_seeds_are_a_count_or_a_list_with_ranges_and_the_default(text, seeds):
    from lab.time_to_accuracy import parse_seeds

    assert parse_seeds(text) == seeds


@pytest.mark.parametrize("text", ["0", "3-1", "a", "1,1", "1,,2", "default,x-2"])
def test_a_bad_seed_list_exits_2_naming_it(text, capsys):
    with pytest.raises(SystemExit) as exited:
        load_script("time_to_accuracy").main(["fast", "--seeds", text])
    assert exited.value.code == 2
    assert "--seeds" in capsys.readouterr().err


def test_an_unknown_config_exits_2_before_any_run(tmp_path, capsys):
    code = load_script("time_to_accuracy").main(["nope", "--results-dir", str(tmp_path / "r")])
    assert code == 2
    assert "config 'nope' not found" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


def test_a_failure_half_way_keeps_the_runs_so_far_and_the_last_complete_report(
    tmp_path, monkeypatch
):
    from lab import time_to_accuracy as tool

    (tmp_path / "time_to_accuracy.json").write_text("earlier report")
    (tmp_path / "time_to_accuracy.md").write_text("earlier table")
    done = {"config": "lstm", "seed": 1, "wall_s": 1.0, "load_1min": 0.5, "epochs": 1}
    done |= {"best_val_acc": 0.5, "test_acc": 0.5}

    def one_run(config, seed, *args):
        if seed == 2:
            raise RuntimeError("lstm seed 2 failed")
        return dict(done)

    monkeypatch.setattr(tool, "time_one_run", one_run)
    with pytest.raises(RuntimeError, match="seed 2 failed"):
        tool.time_to_accuracy(["lstm"], CONFIG_DIR, [1, 2], tmp_path, "cmd", say=lambda m: None)
    assert (tmp_path / "time_to_accuracy.json").read_text() == "earlier report"
    assert (tmp_path / "time_to_accuracy.md").read_text() == "earlier table"
    partial = json.loads((tmp_path / "time_to_accuracy.partial.json").read_text())
    assert partial["runs"] == [done]


def test_the_matmul_peak_runs_on_the_runs_threads_and_leaves_this_processs_threads(monkeypatch):
    import torch

    from lab import time_to_accuracy as tool

    before = torch.get_num_threads()
    seen: list[int] = []
    measure = tool.measure_matmul_peak

    def recording(size, device):
        seen.append((torch.get_num_threads(), device))
        return measure(size, repeats=1, device=device)

    monkeypatch.setattr(tool, "measure_matmul_peak", recording)
    assert tool.matmul_peak(64, threads=1, device="cpu") > 0
    assert seen == [(1, "cpu")]
    assert torch.get_num_threads() == before


def test_the_peak_is_measured_on_the_gpu_the_runs_train_on(monkeypatch):
    from lab import speed

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert speed.peak_device() == "cuda"  # rnn-mnist fit's accelerator "auto" picks the GPU
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert speed.peak_device() == "cpu"
