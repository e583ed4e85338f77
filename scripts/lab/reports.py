"""A tool's report: ``<stem>.json`` and ``<stem>.md`` in a results folder, written atomically; the
work so far goes to ``<stem>.partial.json``, so a run that fails half-way replaces nothing."""

from __future__ import annotations

import json
import os
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
