"""Plot ||dL/dh_t|| against t for the numpy RNN, GRU and LSTM on one long sequence.

The loss is on the last step only, so dL/dh_t for earlier t flows back only through the
recurrence: how fast it falls shows how far back each cell can learn from. Solid lines: the
gated cells' carry-over gates biased by +1 (the practical's TensorFlow cells); dashed: PyTorch's
default initialisation. Example::

    python scripts/plot_gradient_norms.py --steps 200 --out docs/gradient_norms.png
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from lightning_module.utils.atomic import atomic_output  # noqa: E402
from lightning_module.utils.checks import at_least
from rnn_reference import long_sequence_gradient_norms  # noqa: E402

COLOURS = {"rnn": "tab:red", "gru": "tab:blue", "lstm": "tab:green"}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("docs/gradient_norms.png"),
        help="PNG to write (default: docs/gradient_norms.png)",
    )
    parser.add_argument("--steps", type=at_least(1), default=200, help="T (default: 200)")
    parser.add_argument("--input-size", type=at_least(1), default=4, help="D (default: 4)")
    parser.add_argument("--hidden-size", type=at_least(1), default=32, help="H (default: 32)")
    parser.add_argument("--classes", type=at_least(1), default=10, help="C (default: 10)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.out.suffix.lower() != ".png":
        parser.error(f"--out must name a .png file; got {args.out}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    shape = dict(
        T=args.steps, D=args.input_size, H=args.hidden_size, C=args.classes, seed=args.seed
    )
    open_gates = long_sequence_gradient_norms(**shape, gate_bias=1.0)
    default_gates = long_sequence_gradient_norms(**shape, gate_bias=0.0)
    figure, axes = plt.subplots(figsize=(7, 4.2))
    t = range(1, args.steps + 1)
    for name, norms in open_gates.items():
        label = name.upper() + (" (gate bias +1)" if name != "rnn" else "")
        axes.semilogy(t, norms, color=COLOURS[name], label=label)
    for name in ("gru", "lstm"):
        axes.semilogy(
            t,
            default_gates[name],
            color=COLOURS[name],
            linestyle="--",
            label=f"{name.upper()} (PyTorch default init)",
        )
    axes.set_xlabel("time step t")
    axes.set_ylabel(r"$\|\partial L / \partial h_t\|$")
    axes.set_title(
        f"Gradient reaching h_t from a loss at step T={args.steps} "
        f"(H={args.hidden_size}, seed {args.seed})"
    )
    axes.grid(True, which="major", alpha=0.3)
    axes.legend(fontsize=8)
    figure.tight_layout()
    with atomic_output(args.out) as temporary:
        figure.savefig(temporary, format="png", dpi=120)
    plt.close(figure)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
