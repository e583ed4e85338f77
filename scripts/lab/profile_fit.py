"""Where a fit's time goes: ``rnn-mnist fit`` run once under cProfile in a fresh process, its
wall time split into the parts a user can act on (start-up, training, test, the big kernels)."""

from __future__ import annotations

import pstats
import shlex
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from lab.command import package_checkout, run_module_or_raise, scratch_fit
from lab.configs import resolve_config
from lab.reports import machine_line, write_report
from lightning_module.utils.environment import environment

REPORT_STEM = "profile_fit"


def default_report_name(config: str) -> str:
    """``profile_fit_<config>``: each config's profile keeps its own report."""
    return f"{REPORT_STEM}_{Path(config).stem}"


BUILT_IN = "~"  # cProfile's file name for a function implemented in C
# (part, file the function is defined in, function name), matched on the file's ending; each
# part's time is the function's cumulative time, summed over matches.
PARTS = (
    ("the CLI, from parsing to the end of the test", "lightning_module/cli.py", "command"),
    ("Trainer.fit: training and validation", "pytorch_lightning/trainer/trainer.py", "fit"),
    ("Trainer.test: the post-fit test", "pytorch_lightning/trainer/trainer.py", "test"),
    ("the model's forward passes", "lightning_module/model.py", "forward"),
    ("torch.autograd.backward: the backward passes", "torch/autograd/__init__.py", "backward"),
    ("FusedGRU recurrence, forward (C++)", BUILT_IN,
     "<built-in method torch._ops.rnn_mnist.gru_forward_recurrence>"),
    ("FusedGRU recurrence, backward (C++)", BUILT_IN,
     "<built-in method torch._ops.rnn_mnist.gru_backward_recurrence>"),
    ("torch.mm: matrix products outside nn.RNN/LSTM/GRU and torch.nn.functional",
     BUILT_IN, "<built-in method torch.mm>"),
    ("TensorBoard figures", "lightning_module/training/tb_logging.py", "add_figure"),
)  # fmt: skip


def cumulative_times(stats: pstats.Stats) -> dict[str, float]:
    """Each part of ``PARTS`` -> seconds (cumulative; 0.0 for a part the run never entered)."""
    entries = stats.stats  # {(file, line, name): (cc, nc, tt, ct, callers)}
    times = {}
    for part, file_end, name in PARTS:
        times[part] = sum(
            entry[3]
            for (file, _, function), entry in entries.items()
            if function == name and Path(file).as_posix().endswith(file_end)
        )
    return times


def profile_fit(
    config: str,
    config_dir: str | Path,
    results_dir: str | Path,
    command: str,
    extra_args: Sequence[str] = (),
    threads: int | None = None,
    report_stem: str | None = None,
) -> dict[str, Any]:
    """Fit ``config`` once under cProfile and write ``<report_stem>.{json,md}`` (default
    ``profile_fit_<config>``)."""
    path = resolve_config(config, config_dir).resolve()
    with tempfile.TemporaryDirectory(prefix="rnn-mnist-profile-") as folder:
        profile = Path(folder) / "fit.prof"
        args = ["cProfile", "-o", str(profile), "-m", *scratch_fit(path, folder, extra_args)]
        started = time.perf_counter()
        run_module_or_raise(args, package_checkout(), threads, "the profiled fit")
        wall = time.perf_counter() - started
        stats = pstats.Stats(str(profile))
        total, parts = stats.total_tt, cumulative_times(stats)
    cli = parts[PARTS[0][0]]
    report = {
        "command": command,
        "config": path.stem,
        "extra_args": shlex.join(extra_args),
        "threads": threads,
        "environment": environment(),
        "wall_s": wall,
        "profiled_s": total,
        "before_the_cli_s": total - cli,
        "parts_s": parts,
    }
    write_report(results_dir, report_stem or default_report_name(config), report, markdown(report))
    return report


def markdown(report: dict[str, Any]) -> str:
    env = report["environment"]
    lines = [
        f"# Where the time of `rnn-mnist fit --config {report['config']}.yaml` goes",
        "",
        f"Command: `{report['command']}`",
        "",
        f"One run under cProfile in a fresh process; {machine_line(env, report['threads'])}. "
        "Cumulative "
        "seconds of each part (a part inside another is counted in both; the profiler slows "
        "Python-heavy code, so the profiled total exceeds an unprofiled run's).",
        "",
        "| part | seconds |",
        "|---|---:|",
        f"| the process, start to end (wall) | {report['wall_s']:.1f} |",
        f"| profiled in all | {report['profiled_s']:.1f} |",
        f"| before the CLI starts: imports of torch, Lightning and the package | "
        f"{report['before_the_cli_s']:.1f} |",
    ]
    lines += [f"| {part} | {seconds:.1f} |" for part, seconds in report["parts_s"].items()]
    return "\n".join(lines) + "\n"
