"""The CLI run in-process as the console script runs it, for the tests of refused commands:
its exit code and stderr, and the files a command left behind."""

from __future__ import annotations

from pathlib import Path

from lightning_module.cli import main


def run_main_captured(args: list[str], capsys) -> tuple[int, str, str]:
    """``main(args)``'s exit code (a SystemExit from argument parsing included), stdout and
    stderr."""
    try:
        code = main(args)
    except SystemExit as exit_info:
        code = exit_info.code
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def run_main(args: list[str], capsys) -> tuple[int, str]:
    """``main(args)``'s exit code and stderr."""
    code, _, err = run_main_captured(args, capsys)
    return code, err


def the_error(err: str) -> str:
    """The one line of ``err`` that mentions an error (asserted to be one, with no traceback)."""
    lines = [line for line in err.splitlines() if "error" in line.lower()]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


def files_under(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
