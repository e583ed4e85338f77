"""scripts/bench_gru.py (on lightning_module.tools.gru_benchmark) runs end to end with tiny settings
and writes its two reports."""

from __future__ import annotations

import json

import pytest
from scripts_loader import load_script

from lightning_module.tools.gru_benchmark import build_model


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
            "--out-dir",
            str(tmp_path),
        ]
    )
    saved = json.loads((tmp_path / "bench_gru.json").read_text())
    assert list(saved["results"]) == ["lstm", "gru", "fused_gru_cpp", "fused_gru_python"]
    for figures in saved["results"].values():
        assert figures["samples_per_s_median"] > 0
        assert len(figures["samples_per_s_per_round"]) == 2
    table = (tmp_path / "bench_gru.md").read_text()
    assert "| lstm-8 |" in table and "| fused_gru_cpp-8 |" in table
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bench_gru.json", "bench_gru.md"]


def test_bench_gru_builds_the_fused_layers_with_the_named_recurrence():
    assert build_model("fused_gru_cpp", 8).recurrence == "cpp"
    assert build_model("fused_gru_python", 8).recurrence == "python"


@pytest.mark.parametrize("argument, value", [("--rounds", "0"), ("--threads", "0")])
def test_bench_gru_refuses_bad_settings_naming_them(argument, value, capsys):
    with pytest.raises(SystemExit) as exit_info:
        load_script("bench_gru").main([argument, value])
    assert exit_info.value.code == 2
    assert f"argument {argument}: must be >= 1" in capsys.readouterr().err
