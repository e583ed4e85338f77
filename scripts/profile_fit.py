"""Where a fit's time goes: one `rnn-mnist fit` under cProfile, split into parts.

    python scripts/profile_fit.py fast                   # results/profile_fit_fast.{json,md}
    python scripts/profile_fit.py lstm --report profile_lstm -- --trainer.max_epochs 2

Options after ``--`` go to ``rnn-mnist fit``. The measurement is lab/profile_fit.py.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from lab.configs import CONFIG_DIR
from lab.profile_fit import default_report_name, profile_fit
from lab.reports import add_report_arguments
from lightning_module.utils.checks import at_least, split_at_double_dash


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    own, cli_args = split_at_double_dash(argv)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config", help="a name in scripts/configs or a YAML path")
    parser.add_argument("--threads", type=at_least(1), help="OMP_NUM_THREADS (default: torch's)")
    parser.add_argument("--config-dir", default=str(CONFIG_DIR))
    add_report_arguments(parser, None, shown_default=default_report_name("CONFIG"))
    args = parser.parse_args(own)
    command = shlex.join(["python", "scripts/profile_fit.py", *argv])
    try:
        report = profile_fit(
            args.config, args.config_dir, args.results_dir, command, cli_args, args.threads,
            args.report,
        )  # fmt: skip
    except FileNotFoundError as error:
        print(f"profile_fit: {error}", file=sys.stderr)
        return 2
    except RuntimeError as error:
        print(f"profile_fit: {error}", file=sys.stderr)
        return 1
    for part, seconds in report["parts_s"].items():
        print(f"{seconds:7.1f} s  {part}")
    name = args.report or default_report_name(args.config)
    print(f"wrote {Path(args.results_dir) / name}.json and {name}.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
