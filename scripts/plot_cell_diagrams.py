"""Draw the flow diagrams of one GRU step and one LSTM step, as notebook 2 shows them.

Both follow PyTorch's equations and names (``nn.GRU``: r, z, n; ``nn.LSTM``: i, f, g, o), the
ones the notebook's exercises use. Boxes are layers (an affine map of [h_{t-1}, x_t], then the
non-linearity written in the box); circles are element-wise operations. Example::

    python scripts/plot_cell_diagrams.py --out-dir notebooks/images
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.patches import Circle, FancyArrowPatch, FancyBboxPatch  # noqa: E402

from lightning_module.utils.atomic import atomic_output  # noqa: E402

LAYER_COLOUR = "#f6d58e"  # sigmoid and tanh layers
LINEAR_COLOUR = "#dfe7f2"  # an affine map without a non-linearity
OP_COLOUR = "#f4b6b6"  # element-wise operations
STATE_COLOUR = "#1f4e79"
FILES = {"gru": "gru_cell.png", "lstm": "lstm_cell.png"}


class Diagram:
    """A blank 10 x 6 canvas and the three drawing primitives the two cells need."""

    def __init__(self, title: str) -> None:
        self.figure, self.axes = plt.subplots(figsize=(8.6, 5.8))
        self.axes.set_xlim(0, 10)
        self.axes.set_ylim(-1.5, 6.1)
        self.axes.set_aspect("equal")
        self.axes.axis("off")
        self.axes.set_title(title, fontsize=12)
        # the cell's outline
        self.axes.add_patch(
            FancyBboxPatch(
                (0.7, 0.55),
                8.5,
                5.0,
                boxstyle="round,pad=0.05,rounding_size=0.3",
                facecolor="#f7f7f7",
                edgecolor="#999999",
                zorder=0,
            )
        )

    def layer(self, x: float, y: float, text: str, name: str, linear: bool = False) -> None:
        """A layer box centred at (x, y) with its non-linearity, and its output's name."""
        self.axes.add_patch(
            FancyBboxPatch(
                (x - 0.42, y - 0.3),
                0.84,
                0.6,
                boxstyle="round,pad=0.02,rounding_size=0.08",
                facecolor=LINEAR_COLOUR if linear else LAYER_COLOUR,
                edgecolor="black",
                zorder=3,
            )
        )
        self.axes.text(x, y, text, ha="center", va="center", fontsize=10, zorder=4)
        self.axes.text(x + 0.5, y + 0.42, name, ha="left", va="center", fontsize=11, zorder=4)

    def op(self, x: float, y: float, symbol: str) -> None:
        """An element-wise operation, a circle at (x, y)."""
        self.axes.add_patch(Circle((x, y), 0.22, facecolor=OP_COLOUR, edgecolor="black", zorder=3))
        self.axes.text(x, y, symbol, ha="center", va="center", fontsize=11, zorder=4)

    def line(self, *points: tuple[float, float], arrow: bool = True, state: bool = False) -> None:
        """A polyline through ``points``, with an arrow head at the end."""
        colour, width = (STATE_COLOUR, 2.4) if state else ("black", 1.2)
        for start, end in zip(points[:-2], points[1:-1], strict=True):
            self.axes.plot(*zip(start, end, strict=True), color=colour, lw=width, zorder=1)
        self.axes.add_patch(
            FancyArrowPatch(
                points[-2],
                points[-1],
                arrowstyle="-|>" if arrow else "-",
                mutation_scale=12,
                color=colour,
                lw=width,
                shrinkA=0,
                shrinkB=12 if arrow else 0,
                zorder=2,
            )
        )

    def label(self, x: float, y: float, text: str, **kwargs) -> None:
        self.axes.text(x, y, text, **{"fontsize": 12, "ha": "center", "va": "center", **kwargs})

    def save(self, path: Path, caption: str) -> None:
        self.axes.text(5.0, -1.2, caption, ha="center", va="center", fontsize=9, wrap=True)
        self.figure.tight_layout()
        with atomic_output(path) as temporary:
            self.figure.savefig(temporary, format="png", dpi=110)
        plt.close(self.figure)


def draw_gru(path: Path) -> None:
    d = Diagram("GRU step (PyTorch's nn.GRU)")
    top, bus = 5.0, 1.2
    # the state's path: h_{t-1} -> (z *) -> (+) -> h_t
    d.line((0.0, top), (1.78, top), state=True)
    d.op(2.0, top, "×")
    d.line((2.22, top), (8.28, top), state=True)
    d.op(8.5, top, "+")
    d.line((8.72, top), (10.0, top), state=True)
    d.label(0.35, top + 0.35, r"$h_{t-1}$")
    d.label(9.65, top + 0.35, r"$h_t$")
    d.line((9.4, top), (9.4, 0.0))
    d.label(9.75, 0.1, r"$h_t$ (output)")
    # the inputs every layer reads: h_{t-1} and x_t
    d.line((1.0, top), (1.0, bus), arrow=False)
    d.line((1.5, -0.4), (1.5, bus), arrow=False)
    d.label(1.5, -0.45, r"$x_t$", va="top")
    d.line((1.0, bus), (5.6, bus), arrow=False)
    # gates z and r, the hidden part of the candidate, and the candidate n
    d.line((2.0, bus), (2.0, 2.0))
    d.layer(2.0, 2.3, "σ", r"$z_t$")
    d.line((3.2, bus), (3.2, 2.0))
    d.layer(3.2, 2.3, "σ", r"$r_t$")
    d.line((4.4, bus), (4.4, 2.0))
    d.layer(4.4, 2.3, "linear", "", linear=True)
    d.line((4.4, 2.6), (4.4, 3.18))
    d.line((3.2, 2.6), (3.2, 3.4), (4.18, 3.4))
    d.op(4.4, 3.4, "×")
    d.line((4.62, 3.4), (5.18, 3.4))
    d.line((5.6, bus), (5.6, 3.1))
    d.layer(5.6, 3.4, "tanh", r"$n_t$")
    # h_t = (1 - z) * n + z * h_{t-1}
    d.line((2.0, 2.6), (2.0, top - 0.22))
    d.line((2.0, 4.3), (6.78, 4.3))
    d.op(7.0, 4.3, "1−")
    d.line((7.22, 4.3), (8.0, 4.3), (8.0, 3.62))
    d.line((6.02, 3.4), (7.78, 3.4))
    d.op(8.0, 3.4, "×")
    d.line((8.22, 3.4), (8.5, 3.4), (8.5, top - 0.22))
    d.save(
        path,
        r"$r_t=\sigma(x_tW_{ir}^\top{+}b_{ir}{+}h_{t-1}W_{hr}^\top{+}b_{hr})$, $z_t$ alike;  "
        r"$n_t=\tanh(x_tW_{in}^\top{+}b_{in}{+}r_t\odot(h_{t-1}W_{hn}^\top{+}b_{hn}))$;  "
        r"$h_t=(1{-}z_t)\odot n_t+z_t\odot h_{t-1}$",
    )


def draw_lstm(path: Path) -> None:
    d = Diagram("LSTM step (PyTorch's nn.LSTM)")
    top, low, bus = 5.0, 2.9, 1.2
    # the memory's path: c_{t-1} -> (f *) -> (+) -> c_t
    d.line((0.0, top), (2.78, top), state=True)
    d.op(3.0, top, "×")
    d.line((3.22, top), (5.18, top), state=True)
    d.op(5.4, top, "+")
    d.line((5.62, top), (10.0, top), state=True)
    d.label(0.35, top + 0.35, r"$c_{t-1}$")
    d.label(9.65, top + 0.35, r"$c_t$")
    # the state's path: h_{t-1} into the layers; h_t out
    d.line((0.0, bus), (6.8, bus), arrow=False)
    d.label(0.35, bus + 0.35, r"$h_{t-1}$")
    d.line((1.5, -0.4), (1.5, bus), arrow=False)
    d.label(1.5, -0.45, r"$x_t$", va="top")
    # the four layers, in PyTorch's order i, f, g, o
    for x, text, name in ((4.2, "σ", r"$i_t$"), (3.0, "σ", r"$f_t$"), (5.4, "tanh", r"$g_t$")):
        d.line((x, bus), (x, 1.8))
        d.layer(x, 2.1, text, name)
    d.line((6.8, bus), (6.8, 1.8))
    d.layer(6.8, 2.1, "σ", r"$o_t$")
    # c_t = f * c_{t-1} + i * g
    d.line((3.0, 2.4), (3.0, top - 0.22))
    d.line((4.2, 2.4), (4.2, 3.6), (5.18, 3.6))
    d.line((5.4, 2.4), (5.4, 3.38))
    d.op(5.4, 3.6, "×")
    d.line((5.4, 3.82), (5.4, top - 0.22))
    # h_t = o * tanh(c_t)
    d.line((7.8, top), (7.8, 4.1))
    d.layer(7.8, 3.8, "tanh", "")
    d.line((7.8, 3.5), (7.8, low + 0.22))
    d.line((7.1, 2.1), (7.8, 2.1), (7.8, low - 0.22))
    d.op(7.8, low, "×")
    d.line((8.02, low), (10.0, low), state=True)
    d.label(9.65, low + 0.35, r"$h_t$")
    d.line((9.2, low), (9.2, 0.0))
    d.label(9.5, 0.1, r"$h_t$ (output)", ha="left")
    d.save(
        path,
        r"$i_t,f_t,o_t=\sigma(\cdot)$, $g_t=\tanh(\cdot)$ of $x_tW_{i\ast}^\top{+}b_{i\ast}"
        r"{+}h_{t-1}W_{h\ast}^\top{+}b_{h\ast}$;  $c_t=f_t\odot c_{t-1}+i_t\odot g_t$;  "
        r"$h_t=o_t\odot\tanh(c_t)$",
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out-dir",
        type=Path,
        default=Path("notebooks/images"),
        help="folder for gru_cell.png and lstm_cell.png (default: notebooks/images)",
    )
    args = parser.parse_args(argv)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    for cell, draw in (("gru", draw_gru), ("lstm", draw_lstm)):
        path = args.out_dir / FILES[cell]
        draw(path)
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
