"""scripts/measure_memory.py: each BPTT window's peak memory, measured in a fresh process."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]


def test_measure_memory_reports_each_bptt_window_from_a_fresh_process(tmp_path):
    done = subprocess.run(
        [
            sys.executable,
            str(REPO_ROOT / "scripts" / "measure_memory.py"),
            "--hidden",
            "4",
            "--batch",
            "2",
            "--steps",
            "1",
            "--tbptt",
            "28",
            "--threads",
            "1",
            "--results-dir",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads((tmp_path / "memory.json").read_text())
    assert [(row["mode"], row["tbptt_steps"]) for row in report["rows"]] == [
        ("step", None),
        ("step", 28),
    ]
    for row in report["rows"]:
        assert 0 < row["torch_import_mb"] <= row["before_mb"] <= row["peak_mb"]
        assert len(row["step_seconds"]) == 1
    assert "| training step | k = 28 |" in (tmp_path / "memory.md").read_text()
