"""Strip the best checkpoints of a reproduce.json to the package's pretrained models and cards.

python scripts/export_pretrained.py results/reproduce.json --commit 48666b2
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from lab.export_pretrained import ExportError, export_pretrained, markdown_cards
from lightning_module.training.checkpoint_io import CheckpointError

DEFAULT_OUTPUT = Path(__file__).resolve().parents[1] / "lightning_module" / "pretrained"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", type=Path, help="scripts/reproduce.py's reproduce.json")
    parser.add_argument("--commit", required=True, help="the git commit the runs trained at")
    parser.add_argument("--output-dir", type=Path, default=DEFAULT_OUTPUT)
    parser.add_argument(
        "--base-dir",
        type=Path,
        help="where relative checkpoint paths start (default: the results folder's parent)",
    )
    args = parser.parse_args(argv)
    try:
        document = export_pretrained(args.results, args.output_dir, args.commit, args.base_dir)
    except (ExportError, CheckpointError) as error:
        print(f"export_pretrained: error: {error}", file=sys.stderr)
        return 2
    print(markdown_cards(document["models"]), end="")
    print(f"wrote {len(document['models'])} checkpoints and cards.json to {args.output_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
