"""Does a change alter training? A short fit in two checkouts, compared bit for bit.

    git worktree add ../before <commit>
    python scripts/same_training.py ../before . --config rnn -- --trainer.max_epochs 2

Each checkout trains ``rnn-mnist fit --config CONFIG`` (options after ``--`` added) in a fresh
process with this environment's packages; writes results/<report>.{json,md} (default
same_training) saying whether the final weights are bit-identical. The measurement is
lab/same_training.py.
"""

from __future__ import annotations

import argparse
import shlex
import sys

from lab.configs import CONFIG_DIR
from lab.reports import add_report_arguments
from lab.same_training import REPORT_STEM, same_training
from lightning_module.utils.checks import at_least, split_at_double_dash


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    own, cli_args = split_at_double_dash(argv)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkouts", nargs=2, metavar="CHECKOUT")
    parser.add_argument("--config", default="rnn", help="a name in scripts/configs or a path")
    parser.add_argument("--threads", type=at_least(1), default=1,
                        help="OMP_NUM_THREADS of both fits (default 1)")  # fmt: skip
    parser.add_argument("--config-dir", default=str(CONFIG_DIR))
    add_report_arguments(parser, REPORT_STEM)
    args = parser.parse_args(own)
    command = shlex.join(["python", "scripts/same_training.py", *argv])
    try:
        report = same_training(
            args.checkouts,
            args.config,
            args.config_dir,
            args.results_dir,
            command,
            cli_args,
            args.threads,
            report_stem=args.report,
        )
    except FileNotFoundError as error:
        print(f"same_training: {error}", file=sys.stderr)
        return 2
    except RuntimeError as error:
        print(f"same_training: {error}", file=sys.stderr)
        return 1
    print("identical" if report["identical"] else "different")
    return 0


if __name__ == "__main__":
    sys.exit(main())
