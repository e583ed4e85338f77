"""A report's name is a plain file name: every script that takes one refuses a folder or an
ending before any work, so a report cannot land outside its results folder."""

from __future__ import annotations

import pytest
from scripts_loader import load_script

SCRIPTS = ["bench_gru", "profile_fit", "reproduce", "same_training", "time_to_accuracy"]


@pytest.mark.parametrize("script", SCRIPTS)
@pytest.mark.parametrize(
    "name", ["../outside", "sub/report", "/tmp/abs", "table.md", ".hidden", ""]
)
def test_a_report_name_that_is_no_plain_name_is_refused_with_exit_2(script, name, tmp_path, capsys):
    positional = {"same_training": [".", "."], "profile_fit": ["fast"]}.get(script, [])
    argv = [*positional, "--report", name, "--results-dir", str(tmp_path / "out")]
    with pytest.raises(SystemExit) as exit_info:
        load_script(script).main(argv)
    assert exit_info.value.code == 2
    assert f"{name!r} is not a report name" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("name", ["fast_p112_e7", "rnn-seeds.v2", "reproduce_threads1"])
def test_a_plain_report_name_is_accepted(name):
    from lab.reports import report_name

    assert report_name(name) == name
