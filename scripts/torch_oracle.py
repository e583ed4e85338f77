"""Worst relative errors of the numpy reference classifiers against torch.autograd (float64).

For every cell (rnn, gru, lstm), readout (last, every) and the oracle test's shapes
(``rnn_reference.torch_oracle.ORACLE_SHAPES``, seed = sum of the shape, as in the test),
prints the worst relative error over the loss and all gradients and which one it was, then
the worst per cell.
Exits 1 when any error exceeds ``ORACLE_TOLERANCE`` (1e-9), 0 otherwise. Example::

    python scripts/torch_oracle.py --json results/torch_oracle.json
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from lightning_module.utils.atomic import atomic_write_text
from lightning_module.utils.environment import environment
from rnn_reference import CELLS
from rnn_reference.torch_oracle import ORACLE_SHAPES, ORACLE_TOLERANCE, oracle_errors

READOUTS = ("last", "every")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, help="also write the results to this JSON file")
    args = parser.parse_args(argv)
    if args.json is not None and args.json.is_dir():
        parser.error(f"--json must name a file, not a folder; got {args.json}")
    return args


def run_cases() -> list[dict]:
    """One row per (cell, readout, shape): every error, and the worst one's name and value."""
    rows = []
    for cell in CELLS:
        for readout in READOUTS:
            for shape in ORACLE_SHAPES:
                seed = sum(shape)
                errors = oracle_errors(cell, readout, shape, seed)
                worst = max(errors, key=errors.get)
                rows.append(
                    dict(
                        cell=cell,
                        readout=readout,
                        shape=list(shape),
                        seed=seed,
                        errors=errors,
                        worst_name=worst,
                        worst_error=errors[worst],
                    )
                )
    return rows


def worst_per_cell(rows: list[dict]) -> dict:
    """``{cell: the row with that cell's largest worst_error}``."""
    worst = {}
    for row in rows:
        if row["cell"] not in worst or row["worst_error"] > worst[row["cell"]]["worst_error"]:
            worst[row["cell"]] = row
    return worst


def table(rows: list[dict]) -> str:
    lines = [f"{'cell':<5} {'readout':<8} {'(N, T, D, H, C)':<17} {'worst rel. error':>16}  of"]
    for row in rows:
        shape = "(" + ", ".join(map(str, row["shape"])) + ")"
        lines.append(
            f"{row['cell']:<5} {row['readout']:<8} {shape:<17} "
            f"{row['worst_error']:>16.2e}  {row['worst_name']}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    rows = run_cases()
    print(table(rows))
    print()
    per_cell = worst_per_cell(rows)
    for cell, row in per_cell.items():
        print(
            f"worst {cell}: {row['worst_error']:.2e} ({row['worst_name']}, "
            f"readout={row['readout']}, shape={tuple(row['shape'])})"
        )
    failed = [row for row in rows if row["worst_error"] > ORACLE_TOLERANCE]
    if failed:
        names = ", ".join(f"{r['cell']}/{r['readout']}/{tuple(r['shape'])}" for r in failed)
        print(f"FAILED (> {ORACLE_TOLERANCE:.0e}): {names}")
    else:
        print(f"PASSED: every error <= {ORACLE_TOLERANCE:.0e}")
    if args.json is not None:
        summary = {
            cell: {k: row[k] for k in ("worst_error", "worst_name", "readout", "shape")}
            for cell, row in per_cell.items()
        }
        report = dict(
            tolerance=ORACLE_TOLERANCE,
            environment=environment(),
            passed=not failed,
            worst_per_cell=summary,
            cases=rows,
        )
        atomic_write_text(args.json, json.dumps(report, indent=2) + "\n")
        print(f"wrote {args.json}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
