"""Run a command with its stdout and stderr on a pseudo-terminal or a pipe, read as written.

The benchmark and the time-to-accuracy runs use it to train the way users do: in a terminal
window (``terminal``) or with the output going to a log (``pipe``), whose reader keeps up.
"""

from __future__ import annotations

import fcntl
import os
import pty
import signal
import struct
import subprocess
import termios
import threading
from collections import deque
from collections.abc import Sequence
from pathlib import Path

from lightning_module.utils.checks import require_choice

STDOUT_KINDS = ("terminal", "pipe")
TERMINAL_SIZE = (40, 120)  # rows, columns: a common terminal window
KEPT_BYTES = 4096  # of the output, kept for the error message when the command fails
LINGER_SECONDS = 5.0  # how long output may stay open after the command has exited


def _drain(fd: int, kept: deque[bytes]) -> None:
    """Read ``fd`` until its writers are gone, keeping the last bytes (a terminal's reader)."""
    while True:
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # a pseudo-terminal's master reports EIO once the command has exited
            return
        if not chunk:
            return
        kept.append(chunk)
        while sum(map(len, kept)) > KEPT_BYTES and len(kept) > 1:
            kept.popleft()


def run_with_stdout(
    command: Sequence[str],
    stdout: str,
    cwd: str | Path | None = None,
    env: dict[str, str] | None = None,
) -> tuple[int, str]:
    """Run ``command`` to its end with stdout and stderr on ``stdout``: "terminal" or "pipe".

    Returns the exit status and the last few KB of the output (for error messages). The
    terminal is ``TERMINAL_SIZE`` large, so progress bars lay out as in a window; stdin is
    empty.
    """
    require_choice("stdout", stdout, STDOUT_KINDS)
    kept: deque[bytes] = deque()
    reader, writer = pty.openpty() if stdout == "terminal" else os.pipe()
    try:
        if stdout == "terminal":
            rows, columns = TERMINAL_SIZE
            fcntl.ioctl(writer, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
        # a session of its own, so that the command's own children can be stopped with it
        process = subprocess.Popen(
            list(command),
            stdin=subprocess.DEVNULL,
            stdout=writer,
            stderr=writer,
            cwd=cwd,
            env=env,
            close_fds=True,
            start_new_session=True,
        )
    except BaseException:
        os.close(reader)
        raise
    finally:
        os.close(writer)  # the command holds its own copy; the reader sees the end when it exits
    thread = threading.Thread(target=_drain, args=(reader, kept), daemon=True)
    thread.start()
    try:
        status = process.wait()
        # a child the command left behind may still hold the output open: stop its session
        thread.join(timeout=LINGER_SECONDS)
    finally:
        _stop_session(process)
        thread.join()
        os.close(reader)
    return status, b"".join(kept).decode(errors="replace")


def _stop_session(process: subprocess.Popen) -> None:
    """Kill what is left of the command's session (it, or children that outlived it)."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    if process.poll() is None:
        process.wait()
