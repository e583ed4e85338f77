"""scripts/bench_gru.py (on lab.gru_benchmark) runs end to end with tiny settings
and writes its two reports."""

from __future__ import annotations

import json

import pytest
import torch
from scripts_loader import load_script

from lab.gru_benchmark import build_model


def test_bench_gru_times_every_layer_and_reports_each_against_the_lstm(cpp_kernel, tmp_path):
    bench = load_script("bench_gru")
    bench.main(
        [
            "--hidden",
            "8",
            "--batch",
            "4",
            "--rounds",
            "2",
            "--steps",
            "2",
            "--warmup",
            "1",
            "--threads",
            "1",
            "--results-dir",
            str(tmp_path),
        ]
    )
    saved = json.loads((tmp_path / "bench_gru.json").read_text())
    assert list(saved["results"]) == [
        "lstm", "lstm_bf16", "gru", "fused_gru_cpp", "fused_gru_cpp_bf16", "fused_gru_python"
    ]  # fmt: skip
    for figures in saved["results"].values():
        assert figures["samples_per_s_median"] > 0
        assert len(figures["samples_per_s_per_round"]) == 2
    table = (tmp_path / "bench_gru.md").read_text()
    assert "| lstm-8 |" in table and "| fused_gru_cpp-8 |" in table
    assert saved["settings"]["command"].startswith("python scripts/bench_gru.py --hidden 8")
    assert f"Command: `{saved['settings']['command']}`" in table
    assert f"CPU {saved['settings']['environment']['cpu_model']}" in table
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bench_gru.json", "bench_gru.md"]


def test_bench_gru_builds_the_fused_layers_with_the_named_recurrence():
    assert build_model("fused_gru_cpp", 8).recurrence == "cpp"
    assert build_model("fused_gru_cpp_bf16", 8).recurrence == "cpp"
    assert build_model("fused_gru_python", 8).recurrence == "python"


def test_the_bf16_arm_trains_under_bf16_autocast_and_the_others_in_float32(cpp_kernel):
    from lab.gru_benchmark import Trainee, random_batches

    batches = random_batches(1, 4, seed=0)
    seen = {}
    for name in ("fused_gru_cpp", "fused_gru_cpp_bf16"):
        trainee = Trainee(name, 8, batches)
        # what the recurrent layer runs under (FusedGRU's use of it: tests/test_gru_build.py)
        trainee.rnn.register_forward_pre_hook(
            lambda module, args, name=name: seen.__setitem__(
                name, (torch.is_autocast_enabled("cpu"), torch.get_autocast_dtype("cpu"))
            )
        )
        trainee.step()
    assert seen["fused_gru_cpp"][0] is False
    assert seen["fused_gru_cpp_bf16"] == (True, torch.bfloat16)


@pytest.mark.parametrize("argument, value", [("--rounds", "0"), ("--threads", "0")])
def test_bench_gru_refuses_bad_settings_naming_them(argument, value, capsys):
    with pytest.raises(SystemExit) as exit_info:
        load_script("bench_gru").main([argument, value])
    assert exit_info.value.code == 2
    assert f"argument {argument}: must be >= 1" in capsys.readouterr().err


def test_bench_gru_refuses_a_step_size_that_does_not_divide_784(capsys):
    with pytest.raises(SystemExit) as exit_info:
        load_script("bench_gru").main(["--pixels-per-step", "30"])
    assert exit_info.value.code == 2
    assert "--pixels-per-step must divide 784, got 30" in capsys.readouterr().err


def test_bench_gru_runs_any_step_size_and_says_which(cpp_kernel, tmp_path):
    load_script("bench_gru").main(
        [
            *("--models", "fused_gru_cpp", "fused_gru_cpp_bf16", "--pixels-per-step", "56"),
            *("--hidden", "8", "--batch", "4", "--rounds", "1", "--steps", "1"),
            *("--warmup", "0", "--threads", "1", "--results-dir", str(tmp_path)),
        ]
    )
    saved = json.loads((tmp_path / "bench_gru.json").read_text())
    assert saved["settings"]["pixels_per_step"] == 56
    assert list(saved["results"]) == ["fused_gru_cpp", "fused_gru_cpp_bf16"]
    assert "T=14, D=56" in (tmp_path / "bench_gru.md").read_text()


def test_bench_gru_compares_each_model_with_the_lstm_at_its_precision():
    from lab.gru_benchmark import markdown_table

    def figures(rate, per_round):
        return {
            "samples_per_s_median": rate,
            "samples_per_s_min": min(per_round),
            "samples_per_s_max": max(per_round),
            "forward_ms_median": 1.0,
            "backward_and_adam_ms_median": 2.0,
            "samples_per_s_per_round": per_round,
        }

    results = {
        "lstm": figures(100.0, [100.0, 50.0]),
        "lstm_bf16": figures(200.0, [200.0, 100.0]),
        "fused_gru_cpp": figures(150.0, [120.0, 100.0]),
        "fused_gru_cpp_bf16": figures(300.0, [160.0, 150.0]),
    }
    settings = {
        "hidden": 8,
        "batch": 4,
        "pixels_per_step": 28,
        "rounds": 2,
        "steps": 1,
        "command": "python scripts/bench_gru.py",
        "environment": {"torch_threads": 2, "torch": "x", "cpu_model": "Some CPU"},
    }
    rows = {
        line.split(" | ")[0].removeprefix("| "): line.split(" | ")[-2:]
        for line in markdown_table(results, settings).splitlines()
        if line.startswith("| ") and "-8 |" in line
    }
    # the median ratio, then the min-max of the per-round ratios
    assert rows["fused_gru_cpp-8"] == ["1.50", "1.20-2.00 |"]
    assert rows["fused_gru_cpp_bf16-8"] == ["1.50", "0.80-1.50 |"]
    assert rows["lstm_bf16-8"] == ["1.00", "1.00-1.00 |"]


def test_bench_gru_writes_its_reports_under_the_given_name(cpp_kernel, tmp_path):
    load_script("bench_gru").main(
        [
            *("--models", "lstm", "fused_gru_cpp", "--report", "bench_gru_fast"),
            *("--hidden", "8", "--batch", "4", "--rounds", "1", "--steps", "1"),
            *("--warmup", "0", "--threads", "1", "--results-dir", str(tmp_path)),
        ]
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "bench_gru_fast.json",
        "bench_gru_fast.md",
    ]
