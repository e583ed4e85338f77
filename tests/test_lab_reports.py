"""A report's name is a plain file name: every script that takes one refuses a folder or an
ending before any work, so a report cannot land outside its results folder."""

from __future__ import annotations

import pytest
from scripts_loader import load_script

NAME_OPTIONS = {
    "reproduce": "--report",
    "same_training": "--report",
    "time_to_accuracy": "--report",
    "bench_gru": "--report-name",
    "profile_fit": "--report",
}


@pytest.mark.parametrize("script", sorted(NAME_OPTIONS))
@pytest.mark.parametrize(
    "name", ["../outside", "sub/report", "/tmp/abs", "table.md", ".hidden", ""]
)
def test_a_report_name_that_is_no_plain_name_is_refused_with_exit_2(script, name, tmp_path, capsys):
    positional = {"same_training": [".", "."], "profile_fit": ["fast"]}.get(script, [])
    argv = [*positional, NAME_OPTIONS[script], name, "--results-dir", str(tmp_path / "out")]
    if script == "bench_gru":
        argv[-2] = "--out-dir"
    with pytest.raises(SystemExit) as exit_info:
        load_script(script).main(argv)
    assert exit_info.value.code == 2
    assert f"{name!r} is not a report name" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("name", ["fast_p112_e7", "rnn-seeds.v2", "reproduce_threads1"])
def test_a_plain_report_name_is_accepted(name):
    from lab.reports import report_name

    assert report_name(name) == name
