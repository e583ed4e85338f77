"""Run ``rnn-mnist`` in a new process, as a user does, and read what it left: the exit status,
the ``rnn-mnist: error:`` lines on stderr, and every file's checksum."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TESTS = ROOT / "tests"


def cli_env() -> dict[str, str]:
    """The environment of a CLI process: the repository and tests/ importable (for callbacks
    and plugins a test's config names by class path), figures without a display."""
    return {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), str(TESTS)]),
        "MPLBACKEND": "Agg",
    }


def rnn_mnist(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "lightning_module.cli", *args],
        cwd=cwd,
        env=cli_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )


def checksums(folder: Path) -> dict[str, str]:
    """sha256 of every regular file under ``folder`` (links followed), by relative path."""
    return {
        path.relative_to(folder).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def error_lines(stderr: str, prefix: str = "rnn-mnist: error:") -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith(prefix)]
