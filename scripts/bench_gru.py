"""Training throughput of nn.LSTM, nn.GRU and FusedGRU on sequential MNIST shapes (CPU).

The measurement is ``lab.gru_benchmark``; this file parses options and writes ``bench_gru.json``
and ``bench_gru.md`` (or ``--report``'s) in ``--results-dir``.

    python scripts/bench_gru.py                      # table + results/bench_gru.{json,md}
    python scripts/bench_gru.py --hidden 160 --batch 256 --pixels-per-step 56 \
        --report bench_gru_fast                      # fast.yaml's shape
    python scripts/bench_gru.py --profile            # why nn.GRU is slow: profiler tables
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

from lab.gru_benchmark import MODEL_NAMES, benchmark, markdown_table, profile_builtin_rnns
from lab.reports import add_report_arguments, write_report
from lightning_module.gru.build import load_gru_recurrence
from lightning_module.network import IMAGE_PIXELS, IMAGE_SIDE
from lightning_module.utils.checks import at_least
from lightning_module.utils.environment import environment


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", nargs="+", default=list(MODEL_NAMES), choices=MODEL_NAMES)
    parser.add_argument("--hidden", type=at_least(1), default=128, help="H, hidden units")
    parser.add_argument("--batch", type=at_least(1), default=100, help="N, samples per step")
    parser.add_argument(
        "--pixels-per-step",
        type=at_least(1),
        default=IMAGE_SIDE,
        help="D, pixels per time step (T = 784 / D); must divide 784",
    )
    parser.add_argument(
        "--rounds", type=at_least(1), default=7, help="interleaved rounds per model"
    )
    parser.add_argument(
        "--steps", type=at_least(1), default=20, help="timed training steps per round"
    )
    parser.add_argument(
        "--warmup", type=at_least(0), default=3, help="untimed steps before each round"
    )
    parser.add_argument(
        "--threads",
        type=at_least(1),
        default=None,
        help="torch.set_num_threads (default: torch's choice)",
    )
    add_report_arguments(parser, "bench_gru")
    parser.add_argument(
        "--profile", action="store_true", help="profile nn.LSTM and nn.GRU instead of benchmarking"
    )
    args = parser.parse_args(argv)
    if IMAGE_PIXELS % args.pixels_per_step:
        parser.error(f"--pixels-per-step must divide {IMAGE_PIXELS}, got {args.pixels_per_step}")
    cpp_models = [name for name in args.models if name.startswith("fused_gru_cpp")]
    if cpp_models and not args.profile:
        kernel, reason = load_gru_recurrence()  # builds it now, not inside a timed step
        if kernel is None:
            parser.error(
                f"--models {cpp_models[0]}: the C++ GRU recurrence is not available: {reason}"
            )
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    if args.profile:
        profile_builtin_rnns(args.hidden, args.batch)
        return
    settings = {
        "hidden": args.hidden,
        "batch": args.batch,
        "pixels_per_step": args.pixels_per_step,
        "rounds": args.rounds,
        "steps": args.steps,
        "warmup": args.warmup,
        "environment": environment(),
        "command": " ".join(
            ["python", "scripts/bench_gru.py", *(sys.argv[1:] if argv is None else argv)]
        ),
    }
    results = benchmark(
        args.models,
        args.hidden,
        args.batch,
        args.rounds,
        args.steps,
        args.warmup,
        pixels_per_step=args.pixels_per_step,
    )
    table = markdown_table(results, settings)
    print("\n" + table)
    write_report(args.results_dir, args.report, {"settings": settings, "results": results}, table)
    print(f"wrote {Path(args.results_dir) / args.report}.json and {args.report}.md")


if __name__ == "__main__":
    main()
