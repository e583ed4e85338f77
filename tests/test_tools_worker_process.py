"""run_with_stdout: a command's output on a real pseudo-terminal or a pipe, read to the end."""

from __future__ import annotations

import os
import sys
import time

import pytest

from lightning_module.tools.worker_process import KEPT_BYTES, TERMINAL_SIZE, run_with_stdout

REPORT = (
    "import os, sys; tty = sys.stdout.isatty(); "
    "print('out', tty, sys.stderr.isatty(), tty and os.get_terminal_size(1)); "
    "print('err', file=sys.stderr); sys.exit(int(sys.argv[1]))"
)


def test_terminal_gives_a_tty_of_the_terminal_size_on_stdout_and_stderr():
    status, output = run_with_stdout([sys.executable, "-c", REPORT, "0"], "terminal")
    rows, columns = TERMINAL_SIZE
    assert status == 0
    assert f"out True True os.terminal_size(columns={columns}, lines={rows})" in output
    assert "err" in output


def test_pipe_gives_no_tty_and_keeps_both_streams():
    status, output = run_with_stdout([sys.executable, "-c", REPORT, "3"], "pipe")
    assert status == 3
    assert "out False False" in output and "err" in output


@pytest.mark.parametrize("stdout", ["terminal", "pipe"])
def test_a_writer_faster_than_any_buffer_finishes_and_only_the_tail_is_kept(stdout):
    # 4 MB: far more than a pipe's or a terminal's buffer, so the reader must keep up
    chatter = "import sys\nfor i in range(40000): print(f'line {i:06d}', 'x' * 90)"
    status, output = run_with_stdout([sys.executable, "-c", chatter], stdout)
    assert status == 0
    assert "line 039999" in output and "line 000000" not in output
    assert len(output.encode()) <= KEPT_BYTES + 65536


def test_the_working_folder_and_environment_are_the_callers_choice(tmp_path):
    show = "import os; print(os.getcwd(), os.environ.get('RNN_MNIST_TEST'))"
    status, output = run_with_stdout(
        [sys.executable, "-c", show], "pipe", cwd=tmp_path, env={"RNN_MNIST_TEST": "yes"}
    )
    assert status == 0 and f"{tmp_path} yes" in output


def test_an_unknown_stdout_is_refused_before_anything_runs(tmp_path):
    marker = tmp_path / "ran"
    with pytest.raises(ValueError, match="stdout must be one of"):
        run_with_stdout([sys.executable, "-c", f"open({str(marker)!r}, 'w')"], "file")
    assert not marker.exists()


def test_a_child_left_holding_the_output_is_stopped_and_nothing_leaks():
    # the command exits at once but leaves a grandchild with its stdout open for a minute
    leaver = (
        "import subprocess, sys; "
        "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']); print('left')"
    )
    fds = set(os.listdir("/proc/self/fd"))
    start = time.monotonic()
    status, output = run_with_stdout([sys.executable, "-c", leaver], "pipe")
    assert status == 0 and "left" in output
    assert time.monotonic() - start < 30
    assert set(os.listdir("/proc/self/fd")) <= fds
