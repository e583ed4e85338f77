"""Draw the practical's loss and accuracy curves from a run's TensorBoard logs.

python scripts/plot_curves.py runs/lstm/version_0 [--out FOLDER]
"""

from __future__ import annotations

import argparse
import sys

from lightning_module.training.curves import plot_curves


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", metavar="RUN_DIR", help="run folder (runs/NAME/version_N)")
    parser.add_argument("--out", help="folder for loss.png and accuracy.png (default: RUN_DIR)")
    args = parser.parse_args(argv)
    try:
        paths = plot_curves(args.run_dir, args.out)
    except (FileNotFoundError, ValueError) as error:
        print(f"plot_curves: {error}", file=sys.stderr)
        return 2
    for path in paths:
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
