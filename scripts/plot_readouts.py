"""Plot the pretrained models' test accuracy after each row read, and a few digits' readouts.

    python scripts/plot_readouts.py [--models rnn gru lstm] [--data-dir DIR]

Writes docs/readout_accuracy_by_row.png, docs/readout_examples.png and results/readouts.{json,md}.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from data import MNISTDataError
from lab.readouts import load_test_batches, plot_readouts
from lightning_module.model import RecurrentClassifier
from lightning_module.pretrained import PretrainedModelError, known_names

ROOT = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--models", nargs="+", default=["rnn", "gru", "lstm"], help="pretrained names"
    )
    parser.add_argument("--example-model", default="lstm", help="whose readout the digits show")
    parser.add_argument("--examples", type=int, default=4, help="test digits drawn (1 to 16)")
    parser.add_argument("--data-dir", help="MNIST root (default: $MNIST_DATA_DIR)")
    parser.add_argument("--docs-dir", type=Path, default=ROOT / "docs")
    parser.add_argument("--results-dir", type=Path, default=ROOT / "results")
    args = parser.parse_args(argv)
    problem = None
    unknown = [name for name in args.models if name not in known_names()]
    if unknown:
        problem = (
            f"--models: unknown pretrained model {unknown[0]!r} (known: {', '.join(known_names())})"
        )
    elif not 1 <= args.examples <= 16:
        problem = f"--examples: expected 1 to 16 digits, got {args.examples}"
    elif args.example_model not in args.models:
        problem = f"--example-model: {args.example_model!r} is not among --models {args.models}"
    if problem:
        print(f"plot_readouts: error: {problem}", file=sys.stderr)
        return 2
    command = shlex.join(["python", "scripts/plot_readouts.py", *argv])
    try:
        models = {name: RecurrentClassifier.pretrained(name) for name in args.models}
        batches = load_test_batches(args.data_dir)
        paths = plot_readouts(
            models,
            batches,
            args.docs_dir,
            args.results_dir,
            command,
            args.example_model,
            args.examples,
        )
    except (PretrainedModelError, MNISTDataError, ValueError) as error:
        print(f"plot_readouts: error: {error}", file=sys.stderr)
        return 2
    for path in paths:
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
