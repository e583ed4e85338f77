"""Ship the best checkpoints of a reproduction run as the package's pretrained models.

Each checkpoint is cut down to what loading needs (weights, hyperparameters, Lightning version)
and written with the model cards to ``lightning_module/pretrained/``, all files or none.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import re
from pathlib import Path
from typing import Any

import torch

from lightning_module.training.checkpoint_io import read_checkpoint
from lightning_module.utils.atomic import atomic_output

# Everything load_from_checkpoint reads; optimizer, loop and callback states are left behind.
KEPT_KEYS = (
    "state_dict",
    "hyper_parameters",
    "hparams_name",
    "hparams_type",
    "pytorch-lightning_version",
)
CARD_FIELDS = ("config", "cell", "hidden_size", "pixels_per_step", "epochs", "best_epoch")
SCORE_FIELDS = ("best_val_acc", "test_acc", "test_loss")


class ExportError(ValueError):
    """A results file or checkpoint that cannot be exported (the message names it)."""


def strip_checkpoint(checkpoint: dict[str, Any]) -> dict[str, Any]:
    """The entries of a Lightning checkpoint that ``load_from_checkpoint`` needs, on the CPU."""
    stripped = {key: checkpoint[key] for key in KEPT_KEYS if key in checkpoint}
    stripped["state_dict"] = {
        name: tensor.detach().cpu().contiguous()
        for name, tensor in checkpoint["state_dict"].items()
    }
    return stripped


def read_runs(results: Path, base_dir: Path) -> tuple[dict[str, Any], list[tuple[dict, Path]]]:
    """The report and its (run, best checkpoint path) pairs, every one checked before any write."""
    try:
        report = json.loads(Path(results).read_text(encoding="utf-8"))
        runs = report["runs"]
        command = report["command"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ExportError(
            f"{results}: not a reproduce.json results file ({type(exc).__name__}: {exc})"
        ) from None
    if not runs or not isinstance(command, str):
        raise ExportError(f"{results}: holds no runs")
    pairs = []
    for run in runs:
        missing = [
            key for key in (*CARD_FIELDS, *SCORE_FIELDS, "best_checkpoint") if key not in run
        ]
        if missing:
            raise ExportError(f"{results}: run {run.get('config')!r} lacks {', '.join(missing)}")
        path = Path(run["best_checkpoint"])
        pairs.append((run, path if path.is_absolute() else base_dir / path))
    names = [run["config"] for run, _ in pairs]
    if len(set(names)) != len(names):
        raise ExportError(f"{results}: a config appears twice ({names}); export one run of each")
    return report, pairs


def export_pretrained(
    results: str | Path, output_dir: str | Path, commit: str, base_dir: str | Path | None = None
) -> dict[str, Any]:
    """Write ``<config>.ckpt`` per run of ``results`` and ``cards.json`` into ``output_dir``.

    Args:
        results: a ``reproduce.json`` (``scripts/reproduce.py``'s output).
        output_dir: where the checkpoints and cards go (the package's ``pretrained`` folder).
        commit: the git commit the runs were trained at (recorded in every card).
        base_dir: where relative ``best_checkpoint`` paths start (default: the folder above the
            results file's, i.e. the checkout that ran ``scripts/reproduce.py``).

    Returns:
        The cards document that was written.
    """
    if not re.fullmatch(r"[0-9a-f]{7,40}", commit):
        raise ExportError(
            f"--commit must be a git commit hash (7 to 40 hex digits), got {commit!r}"
        )
    results = Path(results)
    base = Path(base_dir) if base_dir is not None else results.resolve().parent.parent
    report, pairs = read_runs(results, base)
    stripped = []
    for run, path in pairs:
        checkpoint = read_checkpoint(path, map_location="cpu")
        saved = checkpoint.get("hyper_parameters") or {}
        if saved.get("cell") != run["cell"] or saved.get("hidden_size") != run["hidden_size"]:
            raise ExportError(
                f"{path}: holds a {saved.get('cell')}-{saved.get('hidden_size')} model, but "
                f"{results} reports {run['cell']}-{run['hidden_size']} for {run['config']!r}"
            )
        stripped.append(strip_checkpoint(checkpoint))
    output_dir = Path(output_dir)
    files: dict[Path, bytes] = {}
    cards: dict[str, Any] = {}
    for (run, _), checkpoint in zip(pairs, stripped, strict=True):
        name = run["config"]
        target = output_dir / f"{name}.ckpt"
        # through a buffer: torch.save names the archive inside after the file it writes, here a
        # random temporary name, which would make the bytes (and the sha256) differ every export
        buffer = io.BytesIO()
        torch.save(checkpoint, buffer)
        files[target] = buffer.getvalue()
        cards[name] = {
            **{key: run[key] for key in CARD_FIELDS},
            **{key: float(run[key]) for key in SCORE_FIELDS},
            "file": target.name,
            "bytes": len(files[target]),
            "sha256": hashlib.sha256(files[target]).hexdigest(),
            "commit": commit,
            "command": report["command"],
            "trained_with": report.get("environment", {}),
        }
    document = {
        "description": "Best checkpoints (lowest val_loss) of scripts/reproduce.py on MNIST; "
        "test_acc is on the 10,000 test images",
        "models": cards,
    }
    cards_file = output_dir / "cards.json"
    write_together({cards_file: (json.dumps(document, indent=2) + "\n").encode(), **files})
    return document


def write_together(files: dict[Path, bytes]) -> None:
    """Write every file to a temporary name first and rename them onto their targets only once
    all are written, the first one last: a failed write leaves every target as it was, so the
    checkpoints never disagree with the cards that describe them."""
    with contextlib.ExitStack() as stack:
        for target, content in files.items():
            stack.enter_context(atomic_output(target)).write_bytes(content)


def markdown_cards(cards: dict[str, dict[str, Any]]) -> str:
    """The model cards as a markdown table (for the README)."""
    lines = [
        "| name | cell | hidden | epochs | best epoch | test acc | file | sha256 |",
        "|---|---|---:|---:|---:|---:|---|---|",
    ]
    for name, card in cards.items():
        lines.append(
            f"| `{name}` | {card['cell']} | {card['hidden_size']} | {card['epochs']} "
            f"| {card['best_epoch']} | {100 * card['test_acc']:.2f}% "
            f"| {card['file']} ({card['bytes'] / 1024:.0f} KiB) | `{card['sha256'][:12]}…` |"
        )
    return "\n".join(lines) + "\n"
