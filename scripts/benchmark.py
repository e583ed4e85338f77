"""Training samples/s of `rnn-mnist fit` against a hand loop and bare Lightning, or another one.

Every arm runs in fresh processes, round by round; `--compare-with` names the other checkout.

    python scripts/benchmark.py                                  # rnn, lstm, gru
    python scripts/benchmark.py lstm --threads 2 --rounds 7 -- --data.val_size 5000
    python scripts/benchmark.py lstm --compare-with ../before --rounds 3 --steps 30

Writes results/benchmark.json and results/benchmark.md (with --compare-with,
results/benchmark_compare.json and .md). CONFIG is a name in scripts/configs or a
YAML path; options after ``--`` go to every run. Time to accuracy is scripts/time_to_accuracy.py;
the measurement is lab/benchmark.py.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from data.download import default_data_dir
from lab.benchmark import DEFAULT_CONFIGS, BenchmarkSettings, report_stem, run_benchmark
from lightning_module.utils.checks import at_least, split_at_double_dash


def parse_args(argv: list[str]) -> tuple[argparse.Namespace, list[str]]:
    own, extra = split_at_double_dash(argv)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("configs", nargs="*", default=list(DEFAULT_CONFIGS), metavar="CONFIG")
    parser.add_argument(
        "--data-dir",
        default=None,
        help="MNIST root holding MNIST/raw/ (default: $MNIST_DATA_DIR, else cache)",
    )
    parser.add_argument("--steps", type=at_least(1), default=100, help="timed steps per run")
    parser.add_argument("--warmup", type=at_least(0), default=10, help="untimed steps before them")
    parser.add_argument("--rounds", type=at_least(1), default=5, help="runs of each arm per config")
    parser.add_argument(
        "--threads",
        type=at_least(1),
        default=None,
        help="OMP_NUM_THREADS of every run (default: torch's choice)",
    )
    parser.add_argument(
        "--no-progress-bar",
        action="store_true",
        help="turn the user path's progress bar off (users get it on)",
    )
    parser.add_argument(
        "--compare-with",
        metavar="CHECKOUT",
        default=None,
        help="another checkout of this repository: time `rnn-mnist fit` of both, alternately",
    )
    parser.add_argument("--results-dir", default="results")
    return parser.parse_args(own), extra


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args, extra = parse_args(argv)
    settings = BenchmarkSettings(
        configs=tuple(args.configs),
        data_dir=args.data_dir or default_data_dir(),
        steps=args.steps,
        warmup=args.warmup,
        rounds=args.rounds,
        progress_bar=not args.no_progress_bar,
        threads=args.threads,
        extra_args=tuple(extra),
        compare_with=args.compare_with,
    )
    command = shlex.join(["python", "scripts/benchmark.py", *argv])
    try:
        run_benchmark(settings, args.results_dir, command)
    except (FileNotFoundError, ValueError) as error:
        print(f"benchmark: {error}", file=sys.stderr)
        return 2
    except RuntimeError as error:  # a run failed; the end of its output is in the text
        print(f"benchmark: {error}", file=sys.stderr)
        return 1
    stem = report_stem(settings)
    print(f"wrote {Path(args.results_dir) / stem}.json and {stem}.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
