"""Train configs on MNIST through the rnn-mnist CLI and write a report (results/reproduce.*).

    python scripts/reproduce.py [CONFIG ...] [--results-dir results] [--report reproduce]
                                [--threads N] [-- CLI OPTIONS]

CONFIG is a name in scripts/configs (default: rnn lstm gru) or a YAML path; options after
``--`` go to every ``rnn-mnist fit`` (e.g. ``-- --trainer.max_epochs 5``).
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

import torch

from lab.configs import CONFIG_DIR
from lab.reports import add_report_arguments
from lab.reproduce import DEFAULT_CONFIGS, REPORT_STEM, reproduce
from lightning_module.utils.checks import at_least, split_at_double_dash


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    own, cli_args = split_at_double_dash(argv)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("configs", nargs="*", default=list(DEFAULT_CONFIGS), metavar="CONFIG")
    add_report_arguments(parser, REPORT_STEM)
    parser.add_argument(
        "--config-dir",
        default=str(CONFIG_DIR),
        help="where config names are looked up (default: scripts/configs)",
    )
    parser.add_argument("--threads", type=at_least(1), help="torch CPU threads (default: torch's)")
    args = parser.parse_args(own)
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    command = shlex.join(["python", "scripts/reproduce.py", *argv])
    try:
        report = reproduce(
            args.configs, args.results_dir, cli_args, command, args.config_dir, args.report
        )
    except FileNotFoundError as error:
        print(f"reproduce: {error}", file=sys.stderr)
        return 2
    for run in report["runs"]:
        print(
            f"{run['config']}: test acc {100 * run['test_acc']:.2f}% after {run['epochs']} epochs"
        )
    print(f"wrote {Path(args.results_dir) / args.report}.json and {args.report}.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
