"""Does a code change alter training? The same short ``rnn-mnist fit`` in two checkouts, in fresh
processes, compared bit for bit: the final weights' digest and the test scores."""

from __future__ import annotations

import hashlib
import shlex
import subprocess
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch

from lab.command import run_module_or_raise, scratch_fit
from lab.configs import resolve_config
from lab.reports import machine_line, write_partial_report, write_report
from lightning_module.utils.environment import environment

REPORT_STEM = "same_training"


def weights_digest(state_dict: dict[str, torch.Tensor]) -> str:
    """sha256 over every tensor's name, dtype, shape and bytes, in name order."""
    digest = hashlib.sha256()
    for name in sorted(state_dict):
        tensor = state_dict[name].detach().cpu().contiguous()
        digest.update(f"{name}|{tensor.dtype}|{tuple(tensor.shape)}|".encode())
        digest.update(tensor.view(torch.uint8).numpy().tobytes() if tensor.numel() else b"")
    return digest.hexdigest()


def checkout_commit(checkout: Path) -> str | None:
    """The commit ``checkout`` has checked out, with ``+changes`` when tracked files differ from
    it; None where it is not a git checkout."""

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "-C", str(checkout), *args], capture_output=True, text=True, check=True
        ).stdout.strip()

    try:
        commit = git("rev-parse", "HEAD")
        changed = git("status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.CalledProcessError):
        return None
    return commit + ("+changes" if changed else "")


def last_checkpoint(save_dir: Path) -> Path:
    """The one ``last.ckpt`` a fit wrote under ``save_dir``."""
    found = sorted(save_dir.rglob("last.ckpt"))
    if len(found) != 1:
        raise RuntimeError(f"expected one last.ckpt under {save_dir}, found {len(found)}")
    return found[0]


def test_scores(output: str) -> dict[str, float]:
    """``test_acc`` and ``test_loss`` from the table Lightning prints after the post-fit test."""
    scores = {}
    for line in output.splitlines():
        cells = [cell.strip() for cell in line.replace("│", "|").split("|") if cell.strip()]
        if len(cells) == 2 and cells[0] in ("test_acc", "test_loss"):
            scores[cells[0]] = float(cells[1])
    return scores


def train_in(checkout: Path, config: Path, extra_args: Sequence[str], threads: int | None):
    """Fit ``config`` in ``checkout``; the digest of its last weights and its test scores."""
    with tempfile.TemporaryDirectory(prefix="rnn-mnist-same-") as folder:
        save_dir = Path(folder)
        command = scratch_fit(config, folder, extra_args)
        output = run_module_or_raise(command, checkout, threads, f"the fit in {checkout}")
        checkpoint = torch.load(last_checkpoint(save_dir), map_location="cpu", weights_only=True)
        return {
            "checkout": str(checkout),
            "commit": checkout_commit(checkout),
            "weights_sha256": weights_digest(checkpoint["state_dict"]),
            "epoch": checkpoint.get("epoch"),
            "global_step": checkpoint.get("global_step"),
            **test_scores(output),
        }


def same_training(
    checkouts: Sequence[str | Path],
    config: str,
    config_dir: str | Path,
    results_dir: str | Path,
    command: str,
    extra_args: Sequence[str] = (),
    threads: int | None = 1,
    say: Callable[[str], None] = print,
    report_stem: str = REPORT_STEM,
) -> dict[str, Any]:
    """Train in each checkout and write ``<report_stem>.{json,md}``: identical or not."""
    path = resolve_config(config, config_dir)
    folders = [Path(checkout).resolve() for checkout in checkouts]
    for folder in folders:
        if not (folder / "lightning_module" / "cli.py").is_file():
            raise FileNotFoundError(f"{folder} is not a checkout of this repository")
    report: dict[str, Any] = {
        "command": command,
        "config": path.stem,
        "extra_args": shlex.join(extra_args),
        "threads": threads,
        "environment": environment(),
        "runs": [],
    }
    for folder in folders:
        run = train_in(folder, path.resolve(), extra_args, threads)
        report["runs"].append(run)
        write_partial_report(results_dir, report_stem, report)  # a later failure keeps this fit
        say(f"{folder}: weights {run['weights_sha256'][:16]}, test {run.get('test_acc')}")
    report["identical"] = len({run["weights_sha256"] for run in report["runs"]}) == 1
    write_report(results_dir, report_stem, report, markdown(report))
    return report


def markdown(report: dict[str, Any]) -> str:
    verdict = "identical" if report["identical"] else "different"
    lines = [
        "# Same training?",
        "",
        f"Command: `{report['command']}`",
        "",
        f"`{shlex.join(['rnn-mnist', 'fit', '--config', report['config'] + '.yaml'])}"
        f"{' ' + report['extra_args'] if report['extra_args'] else ''}` in each checkout; "
        f"{machine_line(report['environment'], report['threads'])}: the final weights are "
        f"**{verdict}**.",
        "",
        "| checkout | commit | weights sha256 | epochs | step | test acc | test loss |",
        "|---|---|---|---:|---:|---:|---:|",
    ]
    for run in report["runs"]:
        lines.append(
            f"| `{run['checkout']}` | {short_commit(run['commit'])} "
            f"| `{run['weights_sha256'][:16]}` | {run['epoch'] + 1} "
            f"| {run['global_step']} | {run.get('test_acc', float('nan')):.4f} "
            f"| {run.get('test_loss', float('nan')):.6f} |"
        )
    return "\n".join(lines) + "\n"


def short_commit(commit: str | None) -> str:
    if commit is None:
        return "not a git checkout"
    head, _, changes = commit.partition("+")
    return f"`{head[:12]}`" + (" with uncommitted changes" if changes else "")
