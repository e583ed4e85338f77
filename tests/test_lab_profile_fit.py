"""scripts/profile_fit.py on the synthetic fixture: one profiled fit, its time split into parts."""

from __future__ import annotations

import json

import pytest
from scripts_loader import load_script
from tiny_cli import tiny_args

pytestmark = pytest.mark.filterwarnings("ignore:LightningCLI's args parameter")


def test_a_profiled_fit_reports_its_parts_nested_as_they_run(mnist_dir, tmp_path, capsys):
    results = tmp_path / "results"
    extra = [*tiny_args(mnist_dir, None, name=None), "--trainer.max_epochs", "1"]
    args = ["lstm", "--results-dir", str(results), "--report", "tiny", "--", *extra]
    assert load_script("profile_fit").main(args) == 0
    report = json.loads((results / "tiny.json").read_text())
    parts = report["parts_s"]
    cli = parts["the CLI, from parsing to the end of the test"]
    fit = parts["Trainer.fit: training and validation"]
    test = parts["Trainer.test: the post-fit test"]
    forward = parts["the model's forward passes"]
    backward = parts["torch.autograd.backward: the backward passes"]
    assert 0 < fit + test < cli < report["profiled_s"] < report["wall_s"]
    assert report["before_the_cli_s"] == pytest.approx(report["profiled_s"] - cli)
    assert 0 < forward < fit + test and 0 < backward < fit
    assert parts["TensorBoard figures"] > 0  # the test draws its figures
    # nn.LSTM runs no FusedGRU: a part the run never enters is 0
    assert parts["FusedGRU recurrence, forward (C++)"] == 0.0
    assert parts["FusedGRU recurrence, backward (C++)"] == 0.0
    table = (results / "tiny.md").read_text()
    assert f"| Trainer.fit: training and validation | {fit:.1f} |" in table
    assert "--report tiny" in table
    assert capsys.readouterr().out.strip().endswith("tiny.md")


def test_an_unknown_config_exits_2_before_any_fit(tmp_path, capsys):
    code = load_script("profile_fit").main(["nonexistent", "--results-dir", str(tmp_path / "r")])
    assert code == 2
    assert "nonexistent" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


def test_each_config_keeps_its_own_profile_report_by_default():
    from lab.profile_fit import default_report_name

    assert default_report_name("fast") == "profile_fit_fast"
    assert default_report_name("scripts/configs/lstm.yaml") == "profile_fit_lstm"
