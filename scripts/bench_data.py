"""Samples/s of MNISTDataModule's training loader against torchvision's per-sample pipeline.

Both pipelines serve shuffled training batches of the same size in the main process
(num_workers=0): ours slices whole batches from one in-memory tensor; torchvision's
``MNIST(transform=ToTensor())`` builds a PIL image per sample and collates. Each round times
both (one full pass, or ``--max-batches`` batches); the figure per pipeline is the median over
rounds, so that load from other processes on a shared machine hits both alike.

Shapes: B batch, 28 x 28 pixels.

    python scripts/bench_data.py                      # prints; writes results/bench_data.{json,md}
    python scripts/bench_data.py --data-dir DIR --rounds 5 --max-batches 200
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import torch
import torchvision
from torch.utils.data import DataLoader
from torchvision.transforms import ToTensor

from data import MNISTDataModule
from data.download import default_data_dir
from lightning_module.utils.atomic import atomic_write_text
from lightning_module.utils.checks import at_least
from lightning_module.utils.environment import environment

REPO_ROOT = Path(__file__).resolve().parents[1]


def time_pass(loader, max_batches: int | None) -> tuple[int, float]:
    """(samples, seconds) for one pass over ``loader`` (at most ``max_batches`` batches)."""
    samples = 0
    start = time.perf_counter()
    for i, (x, _) in enumerate(loader):
        if max_batches is not None and i >= max_batches:
            break
        samples += len(x)
    return samples, time.perf_counter() - start


def markdown(result: dict) -> str:
    ours, theirs = result["ours"], result["torchvision"]
    env = result["environment"]
    return "\n".join(
        [
            f"Training-loader throughput, batch {result['batch_size']}, shuffled, "
            f"num_workers=0, {env['torch_threads']} thread(s), median of {result['rounds']} rounds "
            f"({env['machine']}, {env['cpus']} CPU(s), torch {env['torch']}).",
            "",
            "| pipeline | samples/s (median) | per-round samples/s |",
            "|---|---:|---|",
            f"| MNISTDataModule (batch slicing) | {ours['median']:,.0f} | "
            + ", ".join(f"{v:,.0f}" for v in ours["rounds"])
            + " |",
            f"| torchvision MNIST + ToTensor | {theirs['median']:,.0f} | "
            + ", ".join(f"{v:,.0f}" for v in theirs["rounds"])
            + " |",
            "",
            f"Speed-up: **{result['ratio']:.1f}x** (goal >= 20x). "
            f"MNISTDataModule setup (parse + convert once): {result['setup_s']:.2f} s.",
            "",
            f"Command: `{result['command']}`",
            "",
        ]
    )


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--data-dir",
        default=None,
        help="root holding MNIST/raw/ (default: $MNIST_DATA_DIR, else the per-user cache)",
    )
    parser.add_argument("--batch-size", type=at_least(1), default=100)
    parser.add_argument("--val-size", type=int, default=5000, help="MNISTDataModule val_size")
    parser.add_argument(
        "--max-batches",
        type=at_least(1),
        default=None,
        help="batches per pass (default: one full pass)",
    )
    parser.add_argument("--rounds", type=at_least(1), default=3)
    parser.add_argument("--threads", type=at_least(1), default=1, help="torch.set_num_threads")
    parser.add_argument("--out-json", type=Path, default=REPO_ROOT / "results" / "bench_data.json")
    parser.add_argument("--out-md", type=Path, default=REPO_ROOT / "results" / "bench_data.md")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    data_dir = args.data_dir or default_data_dir()

    start = time.perf_counter()
    datamodule = MNISTDataModule(data_dir, batch_size=args.batch_size, val_size=args.val_size)
    datamodule.prepare_data()
    datamodule.setup("fit")
    setup_s = time.perf_counter() - start
    ours_loader = datamodule.train_dataloader()
    reference = torchvision.datasets.MNIST(data_dir, train=True, transform=ToTensor())
    generator = torch.Generator().manual_seed(0)
    theirs_loader = DataLoader(
        reference, batch_size=args.batch_size, shuffle=True, generator=generator, num_workers=0
    )

    rates: dict[str, list[float]] = {"ours": [], "torchvision": []}
    samples_per_pass: dict[str, int] = {}
    for round_index in range(args.rounds):
        ours_loader.sampler.set_epoch(round_index)
        order = [("ours", ours_loader), ("torchvision", theirs_loader)]
        for name, loader in order if round_index % 2 == 0 else order[::-1]:
            samples, seconds = time_pass(loader, args.max_batches)
            rates[name].append(samples / seconds)
            samples_per_pass[name] = samples
            print(f"round {round_index + 1}: {name:12s} {samples / seconds:12,.0f} samples/s")

    summary = {name: {"median": statistics.median(v), "rounds": v} for name, v in rates.items()}
    result = {
        **summary,
        "ratio": summary["ours"]["median"] / summary["torchvision"]["median"],
        "train_samples": samples_per_pass["ours"],
        "torchvision_samples": samples_per_pass["torchvision"],
        "batch_size": args.batch_size,
        "max_batches": args.max_batches,
        "rounds": args.rounds,
        "setup_s": setup_s,
        "environment": environment(),
        "command": (
            "python scripts/bench_data.py " + " ".join(argv if argv is not None else sys.argv[1:])
        ).strip(),
    }
    print(
        f"MNISTDataModule {summary['ours']['median']:,.0f} samples/s, torchvision "
        f"{summary['torchvision']['median']:,.0f} samples/s: {result['ratio']:.1f}x"
    )
    atomic_write_text(args.out_json, json.dumps(result, indent=2) + "\n")
    atomic_write_text(args.out_md, markdown(result))
    print(f"wrote {args.out_json} and {args.out_md}")
    return result


if __name__ == "__main__":
    main()
