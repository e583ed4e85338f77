"""The reference's scripts: the gradient-check table and exit status, the norms figure and the
torch-oracle table."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import matplotlib.image
import pytest
from scripts_loader import load_script

import rnn_reference.rnn_cell
import rnn_reference.torch_oracle
from rnn_reference import CELLS

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("cell", ["rnn", "gru", "lstm"])
def test_gradient_check_script_prints_a_row_per_parameter_and_exits_zero(cell, capsys):
    script = load_script("gradient_check")
    assert script.main(["--cell", cell, "--readout", "every"]) == 0
    out = capsys.readouterr().out
    names = rnn_reference.CELLS[cell].parameter_names + ("Why", "by")
    rows = [line.split()[0] for line in out.splitlines() if line.endswith("  PASSED")]  # table rows
    assert rows == list(names)
    assert out.rstrip().endswith("PASSED")


def test_gradient_check_script_exits_nonzero_and_names_the_parameters_when_backward_is_broken(
    monkeypatch, capsys
):
    script = load_script("gradient_check")
    monkeypatch.setattr(rnn_reference.rnn_cell, "tanh_backward", lambda dout, cache: dout)
    assert script.main(["--cell", "rnn"]) == 1
    assert "FAILED: Wxh, Whh, bh" in capsys.readouterr().out


def test_gradient_check_script_runs_as_a_program():
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    completed = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "gradient_check.py"), "--cell", "lstm"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert "weight_hh" in completed.stdout and "PASSED" in completed.stdout


def test_gradient_check_script_rejects_an_unknown_cell(capsys):
    script = load_script("gradient_check")
    with pytest.raises(SystemExit) as exit_info:
        script.main(["--cell", "transformer"])
    assert exit_info.value.code == 2
    assert "--cell" in capsys.readouterr().err


def test_plot_script_writes_a_png_and_leaves_no_temporary_file(tmp_path):
    script = load_script("plot_gradient_norms")
    out = tmp_path / "figures" / "norms.png"
    assert script.main(["--steps", "100", "--hidden-size", "8", "--out", str(out)]) == 0
    image = matplotlib.image.imread(out)
    assert image.ndim == 3 and image.shape[0] > 100 and image.shape[1] > 100
    assert [p.name for p in out.parent.iterdir()] == ["norms.png"]


@pytest.mark.parametrize("argv", [["--steps", "0"], ["--out", "figure.pdf"]])
def test_plot_script_rejects_bad_arguments_before_computing(argv, capsys):
    script = load_script("plot_gradient_norms")
    with pytest.raises(SystemExit) as exit_info:
        script.main(argv)
    assert exit_info.value.code == 2
    assert capsys.readouterr().err


def test_torch_oracle_script_prints_every_case_and_the_worst_per_cell_and_writes_json(
    tmp_path, capsys
):
    script = load_script("torch_oracle")
    out_json = tmp_path / "results" / "torch_oracle.json"
    assert script.main(["--json", str(out_json)]) == 0
    out = capsys.readouterr().out
    cases = {
        (cell, readout, shape)
        for cell in rnn_reference.CELLS
        for readout in ("last", "every")
        for shape in rnn_reference.torch_oracle.ORACLE_SHAPES
    }
    rows = [line.split() for line in out.splitlines() if line.split()[:1] in [[c] for c in CELLS]]
    assert len(rows) == len(cases)
    assert all(float(row[-2]) <= rnn_reference.torch_oracle.ORACLE_TOLERANCE for row in rows)
    assert "PASSED" in out and "FAILED" not in out

    result = json.loads(out_json.read_text())
    assert [p.name for p in out_json.parent.iterdir()] == ["torch_oracle.json"]
    assert result["passed"] is True
    assert {(c["cell"], c["readout"], tuple(c["shape"])) for c in result["cases"]} == cases
    for cell, worst in result["worst_per_cell"].items():
        errors = [e for c in result["cases"] if c["cell"] == cell for e in c["errors"].values()]
        assert worst["worst_error"] == max(errors)
        assert f"worst {cell}: {worst['worst_error']:.2e} ({worst['worst_name']}," in out


def test_torch_oracle_script_exits_nonzero_and_names_the_failing_cases_when_backward_is_broken(
    monkeypatch, capsys
):
    script = load_script("torch_oracle")
    monkeypatch.setattr(rnn_reference.rnn_cell, "tanh_backward", lambda dout, cache: dout)
    assert script.main([]) == 1
    out = capsys.readouterr().out
    failed_line = out.split("FAILED (> 1e-09): ")[1].splitlines()[0]
    shapes = rnn_reference.torch_oracle.ORACLE_SHAPES
    expected = [f"rnn/{readout}/{shape}" for readout in ("last", "every") for shape in shapes]
    assert failed_line == ", ".join(expected)


def test_torch_oracle_script_rejects_a_folder_as_the_json_path(tmp_path, capsys):
    script = load_script("torch_oracle")
    with pytest.raises(SystemExit) as exit_info:
        script.main(["--json", str(tmp_path)])
    assert exit_info.value.code == 2
    assert "--json" in capsys.readouterr().err
