"""Lightning vs a hand-written PyTorch loop on MNIST: training samples/s and GFLOP/s.

    python scripts/benchmark.py                         # rnn, lstm, gru; terminal and pipe
    python scripts/benchmark.py lstm --threads 2 --rounds 7 -- --data.val_size 5000

Time to accuracy, from the command's start to its test, is scripts/time_to_accuracy.py.

Writes results/benchmark.json and results/benchmark.md. CONFIG is a name in scripts/configs or a
YAML path; options after ``--`` go to every Lightning run. See lightning_module/tools/benchmark.py.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout, uninstalled
CONFIG_DIR = Path(__file__).resolve().parent / "configs"


from data.download import default_data_dir  # noqa: E402
from lightning_module.tools.benchmark import (  # noqa: E402
    DEFAULT_CONFIGS,
    BenchmarkSettings,
    run_benchmark,
)
from lightning_module.tools.worker_process import STDOUT_KINDS  # noqa: E402
from lightning_module.utils.checks import at_least, split_at_double_dash  # noqa: E402


def parse_args(argv: list[str]) -> tuple[argparse.Namespace, list[str]]:
    own, extra = split_at_double_dash(argv)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("configs", nargs="*", default=list(DEFAULT_CONFIGS), metavar="CONFIG")
    parser.add_argument(
        "--data-dir",
        default=None,
        help="MNIST root holding MNIST/raw/ (default: $MNIST_DATA_DIR, else cache)",
    )
    parser.add_argument(
        "--steps", type=at_least(1), default=100, help="timed steps per arm and round"
    )
    parser.add_argument("--warmup", type=at_least(0), default=10, help="untimed steps before them")
    parser.add_argument(
        "--rounds", type=at_least(1), default=5, help="alternating rounds per config"
    )
    parser.add_argument(
        "--threads",
        type=at_least(1),
        default=None,
        help="OMP_NUM_THREADS of every process (default: torch's choice)",
    )
    parser.add_argument(
        "--no-progress-bar",
        action="store_true",
        help="turn the Lightning progress bar off (users get it on)",
    )
    parser.add_argument(
        "--stdout",
        choices=(*STDOUT_KINDS, "both"),
        default="both",
        help="where each config's process writes: a pseudo-terminal, a pipe, or one run of each",
    )
    parser.add_argument("--results-dir", default="results")
    parser.add_argument(
        "--config-dir",
        default=str(CONFIG_DIR),
        help="where config names are looked up (default: scripts/configs)",
    )
    args = parser.parse_args(own)
    return args, extra


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args, extra = parse_args(argv)
    settings = BenchmarkSettings(
        configs=tuple(args.configs),
        config_dir=args.config_dir,
        data_dir=args.data_dir or default_data_dir(),
        steps=args.steps,
        warmup=args.warmup,
        rounds=args.rounds,
        progress_bar=not args.no_progress_bar,
        stdout=STDOUT_KINDS if args.stdout == "both" else (args.stdout,),
        threads=args.threads,
        extra_args=tuple(extra),
    )
    command = shlex.join(["python", "scripts/benchmark.py", *argv])
    try:
        run_benchmark(settings, args.results_dir, command)
    except (FileNotFoundError, ValueError) as error:
        print(f"benchmark: {error}", file=sys.stderr)
        return 2
    except RuntimeError as error:  # a config's process failed; its output's end is in the text
        print(f"benchmark: {error}", file=sys.stderr)
        return 1
    print(f"wrote {Path(args.results_dir) / 'benchmark.json'} and benchmark.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
