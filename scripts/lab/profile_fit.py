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

from lab.command import RNN_MNIST, package_checkout, run_module
from lab.configs import resolve_config
from lab.reports import write_report
from lightning_module.utils.environment import environment

REPORT_STEM = "profile_fit"

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


def cumulative_times(profile: Path) -> dict[str, float]:
    """Each part of ``PARTS`` -> seconds (cumulative; 0.0 for a part the run never entered)."""
    stats = pstats.Stats(str(profile)).stats  # {(file, line, name): (cc, nc, tt, ct, callers)}
    times = {}
    for part, file_end, name in PARTS:
        times[part] = sum(
            entry[3]
            for (file, _, function), entry in stats.items()
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
    report_stem: str = REPORT_STEM,
) -> dict[str, Any]:
    """Fit ``config`` once under cProfile and write ``<report_stem>.{json,md}``."""
    path = resolve_config(config, config_dir).resolve()
    with tempfile.TemporaryDirectory(prefix="rnn-mnist-profile-") as folder:
        profile = Path(folder) / "fit.prof"
        args = [
            "cProfile", "-o", str(profile), "-m", RNN_MNIST, "fit", "--config", str(path),
            "--trainer.default_root_dir", folder, "--trainer.logger.init_args.save_dir", folder,
            "--trainer.enable_progress_bar", "false", *extra_args,
        ]  # fmt: skip
        started = time.perf_counter()
        status, output = run_module(args, package_checkout(), threads)
        wall = time.perf_counter() - started
        if status != 0:
            raise RuntimeError(f"the profiled fit failed ({status}): {output.strip()[-600:]}")
        total = pstats.Stats(str(profile)).total_tt
        parts = cumulative_times(profile)
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
    write_report(results_dir, report_stem, report, markdown(report))
    return report


def markdown(report: dict[str, Any]) -> str:
    env = report["environment"]
    lines = [
        f"# Where the time of `rnn-mnist fit --config {report['config']}.yaml` goes",
        "",
        f"Command: `{report['command']}`",
        "",
        f"One run under cProfile in a fresh process; {env['cpus']} CPU(s), {env['cpu_model']}, "
        f"torch {env['torch']}, threads {report['threads'] or 'torch default'}. Cumulative "
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
