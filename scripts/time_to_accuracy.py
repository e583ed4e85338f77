"""Wall time to test accuracy of configs through the real CLI, N seeds each.

    python scripts/time_to_accuracy.py                     # fast, lstm, practical; seeds 1-3
    python scripts/time_to_accuracy.py fast --seeds default,0-9
    python scripts/time_to_accuracy.py fast --seeds 0-4 --report fast_epochs7 \
        -- --trainer.max_epochs 7 --trainer.check_val_every_n_epoch 7

Writes results/<report>.{json,md} (default time_to_accuracy). Options after ``--`` go to every
``rnn-mnist fit``: a variant of a recipe is its config with those overrides.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from lab.configs import CONFIG_DIR
from lab.reports import add_report_arguments
from lab.time_to_accuracy import DEFAULT_CONFIGS, REPORT_STEM, parse_seeds, time_to_accuracy
from lightning_module.utils.checks import at_least, split_at_double_dash


def seed_list(text: str) -> list[int | str]:
    try:
        return parse_seeds(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    own, cli_args = split_at_double_dash(argv)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("configs", nargs="*", default=list(DEFAULT_CONFIGS), metavar="CONFIG")
    parser.add_argument("--seeds", type=seed_list, default=parse_seeds("3"),
                        help="N (seeds 1..N) or a list such as default,0-9 ('default': the "
                        "CLI's own seed, no --seed_everything)")  # fmt: skip
    parser.add_argument("--threads", type=at_least(1), default=None,
                        help="OMP_NUM_THREADS of each run (default: torch's choice)")  # fmt: skip
    parser.add_argument("--config-dir", default=str(CONFIG_DIR))
    add_report_arguments(parser, REPORT_STEM)
    args = parser.parse_args(own)
    command = shlex.join(["python", "scripts/time_to_accuracy.py", *argv])
    try:
        time_to_accuracy(args.configs, args.config_dir, args.seeds, args.results_dir, command,
                         cli_args, args.threads, report_stem=args.report)  # fmt: skip
    except (FileNotFoundError, RuntimeError) as error:
        print(f"time_to_accuracy: {error}", file=sys.stderr)
        return 2 if isinstance(error, FileNotFoundError) else 1
    print(f"wrote {Path(args.results_dir) / args.report}.json and {args.report}.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
