"""scripts/bench_data.py runs end to end on the synthetic fixture and writes its two reports."""

from __future__ import annotations

import json

from scripts_loader import load_script


def test_bench_data_reports_both_pipelines_and_their_ratio(mnist_dir, tmp_path):
    bench = load_script("bench_data")
    out_json, out_md = tmp_path / "r" / "bench.json", tmp_path / "r" / "bench.md"
    args = [
        "--data-dir",
        str(mnist_dir),
        "--batch-size",
        "50",
        "--val-size",
        "100",
        "--rounds",
        "2",
        "--out-json",
        str(out_json),
        "--out-md",
        str(out_md),
    ]
    result = bench.main(args)
    saved = json.loads(out_json.read_text())
    assert saved["ratio"] == result["ratio"] > 0
    assert saved["ratio"] == saved["ours"]["median"] / saved["torchvision"]["median"]
    assert len(saved["ours"]["rounds"]) == len(saved["torchvision"]["rounds"]) == 2
    assert saved["train_samples"] == 200 and saved["torchvision_samples"] == 300
    table = out_md.read_text()
    assert "torchvision MNIST + ToTensor" in table and f"{result['ratio']:.1f}x" in table
    assert sorted(p.name for p in out_json.parent.iterdir()) == ["bench.json", "bench.md"]
