"""Wall time to test accuracy of configs through the real CLI, N seeds each.

    python scripts/time_to_accuracy.py                     # fast, lstm, practical; 3 seeds
    python scripts/time_to_accuracy.py fast --seeds 5 -- --data.data_dir DIR

Writes results/time_to_accuracy.{json,md}. Options after ``--`` go to every ``rnn-mnist fit``.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from lab.configs import CONFIG_DIR
from lab.time_to_accuracy import DEFAULT_CONFIGS, time_to_accuracy
from lightning_module.utils.checks import at_least, split_at_double_dash


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    own, cli_args = split_at_double_dash(argv)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("configs", nargs="*", default=list(DEFAULT_CONFIGS), metavar="CONFIG")
    parser.add_argument("--seeds", type=at_least(1), default=3, help="seeds 1..N per config")
    parser.add_argument("--threads", type=at_least(1), default=None,
                        help="OMP_NUM_THREADS of each run (default: torch's choice)")  # fmt: skip
    parser.add_argument("--config-dir", default=str(CONFIG_DIR))
    parser.add_argument("--results-dir", default="results")
    args = parser.parse_args(own)
    command = shlex.join(["python", "scripts/time_to_accuracy.py", *argv])
    try:
        time_to_accuracy(args.configs, args.config_dir, range(1, args.seeds + 1),
                         args.results_dir, command, cli_args, args.threads)  # fmt: skip
    except (FileNotFoundError, RuntimeError) as error:
        print(f"time_to_accuracy: {error}", file=sys.stderr)
        return 2 if isinstance(error, FileNotFoundError) else 1
    print(f"wrote {Path(args.results_dir) / 'time_to_accuracy.json'} and time_to_accuracy.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
