"""The reference's scripts: the gradient-check table and exit status, and the norms figure."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import matplotlib.image
import pytest

import rnn_reference.rnn_cell

ROOT = Path(__file__).resolve().parents[1]


def _load_script(name: str):
    spec = importlib.util.spec_from_file_location(f"script_{name}", ROOT / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("cell", ["rnn", "gru", "lstm"])
def test_gradient_check_script_prints_a_row_per_parameter_and_exits_zero(cell, capsys):
    script = _load_script("gradient_check")
    assert script.main(["--cell", cell, "--readout", "every"]) == 0
    out = capsys.readouterr().out
    names = rnn_reference.CELLS[cell].parameter_names + ("Why", "by")
    rows = [line.split()[0] for line in out.splitlines() if line.endswith("  PASSED")]  # table rows
    assert rows == list(names)
    assert out.rstrip().endswith("PASSED")


def test_gradient_check_script_exits_nonzero_and_names_the_parameters_when_backward_is_broken(
    monkeypatch, capsys
):
    script = _load_script("gradient_check")
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
    script = _load_script("gradient_check")
    with pytest.raises(SystemExit) as exit_info:
        script.main(["--cell", "transformer"])
    assert exit_info.value.code == 2
    assert "--cell" in capsys.readouterr().err


def test_plot_script_writes_a_png_and_leaves_no_temporary_file(tmp_path):
    script = _load_script("plot_gradient_norms")
    out = tmp_path / "figures" / "norms.png"
    assert script.main(["--steps", "100", "--hidden-size", "8", "--out", str(out)]) == 0
    image = matplotlib.image.imread(out)
    assert image.ndim == 3 and image.shape[0] > 100 and image.shape[1] > 100
    assert [p.name for p in out.parent.iterdir()] == ["norms.png"]


@pytest.mark.parametrize("argv", [["--steps", "0"], ["--out", "figure.pdf"]])
def test_plot_script_rejects_bad_arguments_before_computing(argv, capsys):
    script = _load_script("plot_gradient_norms")
    with pytest.raises(SystemExit) as exit_info:
        script.main(argv)
    assert exit_info.value.code == 2
    assert capsys.readouterr().err
