"""Numeric gradient check of the numpy reference classifier (RNN, GRU or LSTM + linear readout).

Prints one row per parameter (worst relative error, where, both gradients) and exits 1 when
any parameter fails, 0 when all pass. Example::

    python scripts/gradient_check.py --cell lstm --readout every
"""

from __future__ import annotations

import argparse
import sys

from lightning_module.utils.checks import at_least
from rnn_reference import CELLS, classifier_gradient_check, random_classifier_problem


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cell", choices=sorted(CELLS), required=True)
    parser.add_argument(
        "--readout",
        choices=["last", "every"],
        default="last",
        help="loss on the last step only, or on every step (default: last)",
    )
    parser.add_argument("--batch", type=at_least(1), default=2, help="N (default: 2)")
    parser.add_argument("--steps", type=at_least(1), default=4, help="T (default: 4)")
    parser.add_argument("--input-size", type=at_least(1), default=3, help="D (default: 3)")
    parser.add_argument("--hidden-size", type=at_least(1), default=5, help="H (default: 5)")
    parser.add_argument("--classes", type=at_least(1), default=3, help="C (default: 3)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--h", type=float, default=1e-5, help="finite-difference step")
    parser.add_argument(
        "--error-threshold",
        type=float,
        default=1e-5,
        help="largest relative error that passes (default: 1e-5)",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    x, y, params = random_classifier_problem(
        args.cell,
        args.readout,
        args.batch,
        args.steps,
        args.input_size,
        args.hidden_size,
        args.classes,
        args.seed,
    )
    print(
        f"cell={args.cell} readout={args.readout} (N, T, D, H, C) = "
        f"{x.shape + (args.hidden_size, args.classes)} seed={args.seed}"
    )
    result = classifier_gradient_check(
        x,
        y,
        params,
        args.cell,
        args.readout,
        h=args.h,
        error_threshold=args.error_threshold,
        verbose=True,
    )
    return 0 if result.passed else 1


if __name__ == "__main__":
    sys.exit(main())
