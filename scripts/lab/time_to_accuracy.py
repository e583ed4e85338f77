"""Time to accuracy: configs trained through the real ``rnn-mnist fit`` in fresh processes.

Per run: the wall time from starting the process to the end of its post-fit test, epochs
trained, the best validation accuracy and the test accuracy of the tested checkpoint. Each run
starts in the checkout (``lab.command.run_module``) and writes to a pipe read as written.
The report also gives the machine's fp32 matmul peak, measured first on the runs' device and
threads, so that reports from machines of different speeds (or one machine on a slow day) can
be told apart.
"""

from __future__ import annotations

import os
import shlex
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from lab.command import RNN_MNIST, package_checkout, run_module_or_raise
from lab.configs import resolve_config
from lab.reports import machine_line, write_partial_report, write_report
from lab.speed import measure_matmul_peak, peak_device
from lightning_module.utils.environment import environment

DEFAULT_CONFIGS = ("fast", "lstm", "practical")
REPORT_STEM = "time_to_accuracy"
DEFAULT_SEED = "default"  # no --seed_everything: the seed a user gets who passes none


def parse_seeds(text: str) -> list[int | str]:
    """``3`` -> seeds 1, 2, 3; ``default,0-9`` or ``1,5,7`` -> those seeds, ``default`` being
    the CLI's own (the run passes no ``--seed_everything``)."""
    if text.isdigit():
        if int(text) < 1:
            raise ValueError(f"a number of seeds must be at least 1, got {text}")
        return list(range(1, int(text) + 1))
    seeds: list[int | str] = []
    for part in text.split(","):
        low, dash, high = part.partition("-")
        if part == DEFAULT_SEED:
            seeds.append(part)
        elif dash and low.isdigit() and high.isdigit() and int(low) <= int(high):
            seeds += range(int(low), int(high) + 1)
        elif part.isdigit():
            seeds.append(int(part))
        else:
            raise ValueError(
                f"seeds are N, or a comma list of seeds, ranges A-B and {DEFAULT_SEED!r}; "
                f"got {part!r} in {text!r}"
            )
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"a seed is listed twice in {text!r}")
    return seeds


def read_run(save_dir: Path) -> dict[str, Any]:
    """Epochs, best val_acc and test_acc from the one TensorBoard run under ``save_dir``."""
    folders = sorted({path.parent for path in save_dir.rglob("events.out.tfevents.*")})
    # train_loss is logged once per training epoch (the epoch scalar also counts the test)
    scalars: dict[str, list[float]] = {"train_loss": [], "val_acc": [], "test_acc": []}
    for folder in folders:
        events = EventAccumulator(str(folder), size_guidance={"scalars": 0})
        events.Reload()
        for tag, values in scalars.items():
            if tag in events.Tags()["scalars"]:
                values += [event.value for event in events.Scalars(tag)]
    if not scalars["test_acc"] or not scalars["val_acc"]:
        raise RuntimeError(f"no val_acc / test_acc in the TensorBoard logs under {save_dir}")
    return {
        "epochs": len(scalars["train_loss"]),
        "best_val_acc": max(scalars["val_acc"]),
        "test_acc": scalars["test_acc"][-1],
    }


def time_one_run(
    config: Path, seed: int | str, extra_args: Sequence[str], threads: int | None
) -> dict[str, Any]:
    """Fit ``config`` with ``seed`` (``"default"``: none given) in a fresh ``rnn-mnist``
    process; its table row, with the machine's 1-minute load average when the run started."""
    with tempfile.TemporaryDirectory(prefix="rnn-mnist-tta-") as save_dir:
        seed_args = [] if seed == DEFAULT_SEED else ["--seed_everything", str(seed)]
        command = [
            RNN_MNIST, "fit", "--config", str(config.resolve()), *seed_args,
            "--trainer.default_root_dir", save_dir, *extra_args,
        ]  # fmt: skip
        load = os.getloadavg()[0]
        start = time.perf_counter()
        run_module_or_raise(command, package_checkout(), threads, f"{config.stem} seed {seed}")
        seconds = time.perf_counter() - start
        row = {"config": config.stem, "seed": seed, "wall_s": seconds, "load_1min": load}
        return {**row, **read_run(Path(save_dir))}


def summarise(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per config: median wall time and the spread of the accuracies over seeds."""
    rows = []
    for name in dict.fromkeys(run["config"] for run in runs):
        mine = [run for run in runs if run["config"] == name]
        rows.append({
            "config": name,
            "seeds": len(mine),
            "median_wall_s": statistics.median(run["wall_s"] for run in mine),
            "max_wall_s": max(run["wall_s"] for run in mine),
            "median_epochs": statistics.median(run["epochs"] for run in mine),
            "min_test_acc": min(run["test_acc"] for run in mine),
            "median_test_acc": statistics.median(run["test_acc"] for run in mine),
            "below_99": sum(run["test_acc"] < 0.99 for run in mine),
            "median_load_1min": statistics.median(run["load_1min"] for run in mine),
        })  # fmt: skip
    return rows


def markdown(report: dict[str, Any]) -> str:
    env = report["environment"]
    lines = [
        f"# Time to accuracy{report['extra_args'] and ': ' + report['extra_args'] or ''}",
        "",
        f"Command: `{report['command']}`",
        "",
        f"{machine_line(env, report['threads'])}, fp32 matmul peak "
        f"{report['matmul_peak']['gflops']:,.0f} GFLOP/s ({report['matmul_peak']['size']}^2 "
        f"torch.mm on {report['matmul_peak']['device']}, best of 5), output to a pipe; "
        "wall time from starting `rnn-mnist fit` to the end of its test. Seed `default`: no "
        "`--seed_everything`, as a user types the command. Load: the machine's 1-minute load "
        "average as the run started (a shared machine slows the wall times, not the accuracies).",
        "",
        "| config | seeds | median wall | max wall | median epochs | test acc (min / median) "
        "| below 99% | median load |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in report["summary"]:
        lines.append(
            f"| {row['config']} | {row['seeds']} | {row['median_wall_s']:.1f} s "
            f"| {row['max_wall_s']:.1f} s | {row['median_epochs']:g} "
            f"| {100 * row['min_test_acc']:.2f}% / {100 * row['median_test_acc']:.2f}% "
            f"| {row['below_99']} | {row['median_load_1min']:.1f} |"
        )
    lines += [
        "",
        "| config | seed | wall | load | epochs | best val acc | test acc |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for run in report["runs"]:
        lines.append(
            f"| {run['config']} | {run['seed']} | {run['wall_s']:.1f} s | {run['load_1min']:.1f} "
            f"| {run['epochs']} | {100 * run['best_val_acc']:.2f}% | {100 * run['test_acc']:.2f}% |"
        )
    return "\n".join(lines) + "\n"


def matmul_peak(size: int, threads: int | None, device: str) -> float:
    """``measure_matmul_peak`` on ``device``, with ``threads`` CPU threads (None: this
    process's), GFLOP/s."""
    before = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        return measure_matmul_peak(size, device=device)
    finally:
        torch.set_num_threads(before)


def time_to_accuracy(
    configs: Sequence[str],
    config_dir: str | Path,
    seeds: Sequence[int | str],
    results_dir: str | Path,
    command: str,
    extra_args: Sequence[str] = (),
    threads: int | None = None,
    say: Callable[[str], None] = print,
    matmul_size: int = 2048,
    report_stem: str = REPORT_STEM,
) -> dict[str, Any]:
    """Run every (config, seed); write the JSON and markdown (atomically) once all have run.

    The report is ``<report_stem>.json`` / ``.md``; after each run the runs so far go to
    ``<report_stem>.partial.json``, so a failure half-way keeps them and leaves the last
    complete report as it was.
    """
    paths = [resolve_config(name, config_dir) for name in configs]  # all checked before work
    results_dir = Path(results_dir)
    device = peak_device()
    peak = matmul_peak(matmul_size, threads, device)
    report: dict[str, Any] = {
        "command": command, "threads": threads, "environment": environment(),
        "extra_args": shlex.join(extra_args),
        "cli": shlex.join([sys.executable, "-m", RNN_MNIST]), "runs": [], "summary": [],
        "matmul_peak": {"size": matmul_size, "device": device, "gflops": peak},
    }  # fmt: skip
    for path in paths:
        for seed in seeds:
            run = time_one_run(path, seed, extra_args, threads)
            say(f"{run['config']} seed {seed}: {run['wall_s']:.1f} s, {run['epochs']} epochs, "
                f"test acc {100 * run['test_acc']:.2f}%")  # fmt: skip
            report["runs"].append(run)
            report["summary"] = summarise(report["runs"])
            write_partial_report(results_dir, report_stem, report)
    write_report(results_dir, report_stem, report, markdown(report))
    return report
