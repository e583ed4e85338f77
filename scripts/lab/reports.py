"""A tool's report: ``<stem>.json`` and ``<stem>.md`` in a results folder, written atomically; the
work so far goes to ``<stem>.partial.json``, so a run that fails half-way replaces nothing."""

from __future__ import annotations

import argparse
import json
import os
import re
from pathlib import Path

from lightning_module.utils.atomic import atomic_write_text


def partial_report_path(folder: str | os.PathLike, stem: str) -> Path:
    """Where a tool keeps the work done so far: ``<folder>/<stem>.partial.json``."""
    return Path(folder) / f"{stem}.partial.json"


def write_partial_report(folder: str | os.PathLike, stem: str, report: object) -> Path:
    """Save the work so far (JSON) beside the report, leaving ``<stem>.json`` and ``<stem>.md``
    of the last complete run as they were."""
    text = json.dumps(report, indent=2) + "\n"
    return atomic_write_text(partial_report_path(folder, stem), text)


def write_report(folder: str | os.PathLike, stem: str, report: object, markdown: str) -> None:
    """Write a finished run's ``<stem>.json`` and ``<stem>.md``, each atomically, then drop its
    ``<stem>.partial.json``."""
    atomic_write_text(Path(folder) / f"{stem}.json", json.dumps(report, indent=2) + "\n")
    atomic_write_text(Path(folder) / f"{stem}.md", markdown)
    partial_report_path(folder, stem).unlink(missing_ok=True)


def machine_line(environment: dict, threads: int | None) -> str:
    """``2 CPU(s), <CPU model>, torch <version>, threads <n>`` for a report's markdown."""
    cpu = environment.get("cpu_model") or environment.get("processor") or environment["machine"]
    return (
        f"{environment['cpus']} CPU(s), {cpu}, torch {environment['torch']}, "
        f"threads {threads or 'torch default'}"
    )


def report_name(text: str) -> str:
    """An argparse type: a report's name, the ``<stem>`` of ``<stem>.json``, a plain file name
    (letters, digits, ``_ . -``) so the report stays inside its results folder."""
    if not re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.-]*", text) or text.endswith((".json", ".md")):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a report name: use letters, digits, '_', '.' and '-', no folder "
            "and no .json/.md ending (the report goes to <results-dir>/<name>.json and .md)"
        )
    return text


def add_report_arguments(
    parser: argparse.ArgumentParser, default_name: str | None, shown_default: str | None = None
) -> None:
    """``--results-dir`` (default ``results``) and ``--report`` (the report's name; a tool whose
    default depends on other arguments passes None and says what it is in ``shown_default``)."""
    parser.add_argument("--results-dir", default="results")
    parser.add_argument(
        "--report",
        default=default_name,
        type=report_name,
        help="the report's name: <results-dir>/<REPORT>.json and .md "
        f"(default {shown_default or default_name})",
    )
