"""Peak memory (RSS) of pixel-by-pixel MNIST training on CPU: full BPTT against truncated BPTT.

    python scripts/measure_memory.py                        # LSTM-128, batch 100, T = 784
    python scripts/measure_memory.py --tbptt 28 112 --steps 3 --fit

Each setting runs in a fresh Python process (peak RSS only grows within a process), which
reports its peak resident memory (``VmHWM``; see ``peak_rss_mb``):

- ``step`` rows: a ``SequenceClassifierNet`` (LSTM, pixels_per_step=1) trained by a plain loop
  (cross-entropy, backward, Adam) on one fixed random batch of MNIST's shape (memory does not
  depend on pixel values). "before" is the peak once torch is imported and the model, batch and
  optimiser exist; "training" is the peak's growth over ``--steps`` steps: the autograd
  activations of the BPTT window plus the gradients and Adam's state.
- ``fit`` rows (``--fit``): the real command, ``rnn-mnist fit --config
  scripts/configs/pixel_lstm.yaml`` for ``--steps`` steps on the real MNIST (its 60,000 images
  are held in memory as float32), validation off, the post-fit test on one batch.

On CPU, oneDNN builds an LSTM kernel per new input shape, so the first
step is slow; memory is unaffected. Writes results/memory.json and results/memory.md.
"""

from __future__ import annotations

import argparse
import json
import resource
import shlex
import subprocess
import sys
import time
from pathlib import Path

from lightning_module.utils.checks import at_least

REPO_ROOT = Path(__file__).resolve().parents[1]

KB = 1024  # ru_maxrss is in kilobytes on Linux


def peak_rss_mb() -> float:
    """This process's peak resident memory in MiB: VmHWM of /proc/self/status on Linux.

    Not ``getrusage``'s ru_maxrss there: Linux carries the peak of the image a child replaced
    at exec (a fork of this parent, torch loaded) into ru_maxrss. ru_maxrss is the fallback
    elsewhere.
    """
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * KB / 2**20
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * KB / 2**20


def step_worker(hidden: int, batch: int, steps: int, tbptt: int | None) -> dict:
    """Train LSTM-``hidden`` pixel by pixel for ``steps`` steps; the peak RSS before and after."""
    import torch
    import torch.nn.functional as F

    after_import = peak_rss_mb()

    from lightning_module.network import SequenceClassifierNet

    torch.set_flush_denormal(True)  # as run_cli does: BPTT over 784 steps makes denormals
    torch.manual_seed(0)
    net = SequenceClassifierNet("lstm", hidden, pixels_per_step=1, tbptt_steps=tbptt).train()
    optimizer = torch.optim.Adam(net.parameters())
    images, labels = torch.rand(batch, 28, 28), torch.randint(0, 10, (batch,))
    before = peak_rss_mb()
    seconds = []
    for _ in range(steps):
        start = time.perf_counter()
        loss = F.cross_entropy(net(images), labels)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        seconds.append(time.perf_counter() - start)
    return {
        "torch_import_mb": after_import,
        "before_mb": before,
        "peak_mb": peak_rss_mb(),
        "step_seconds": seconds,
        "loss": loss.item(),
    }


def fit_worker(data_dir: str, steps: int, tbptt: int | None, save_dir: str) -> dict:
    """``rnn-mnist fit`` of pixel_lstm.yaml for ``steps`` steps; the peak RSS at the end."""
    import warnings

    from lightning_module.cli import run_cli

    args = [
        "fit",
        "--config",
        str(REPO_ROOT / "scripts" / "configs" / "pixel_lstm.yaml"),
        "--data.data_dir",
        data_dir,
        "--trainer.max_steps",
        str(steps),
        "--trainer.limit_val_batches",
        "0",
        "--trainer.num_sanity_val_steps",
        "0",
        "--trainer.limit_test_batches",
        "1",
        "--trainer.enable_progress_bar",
        "false",
        "--early_stopping.check_on_train_epoch_end",
        "false",  # no val_loss without validation
        "--trainer.logger.init_args.save_dir",
        save_dir,
        "--model.tbptt_steps",
        "null" if tbptt is None else str(tbptt),
    ]
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cli = run_cli(args)
    return {
        "peak_mb": peak_rss_mb(),
        "seconds": time.perf_counter() - start,
        "global_step": cli.trainer.global_step,
    }


def run_in_fresh_process(argv: list[str], timeout: float) -> dict:
    command = [sys.executable, str(Path(__file__).resolve()), "--worker", *argv]
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, cwd=REPO_ROOT)
    if done.returncode != 0:
        raise RuntimeError(f"{shlex.join(command)} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def markdown(report: dict) -> str:
    s = report["settings"]
    lines = [
        "# Peak memory of pixel-by-pixel MNIST training (CPU)",
        "",
        f"Command: `{report['command']}`",
        "",
        f"LSTM-{s['hidden']}, batch {s['batch']}, T = 784 steps of 1 pixel, Adam, {s['steps']} "
        f"training steps per row, each row a fresh process; peak RSS = VmHWM "
        f"({report['environment']['machine']}, {report['environment']['cpus']} CPU(s), Python "
        f"{report['environment']['python']}).",
        "",
        "| setting | BPTT window | peak RSS | after `import torch` | before training "
        "| growth in training | s/step (last) |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for row in report["rows"]:
        window = "full (784)" if row["tbptt_steps"] is None else f"k = {row['tbptt_steps']}"
        if row["mode"] == "step":
            lines.append(
                f"| training step | {window} | {row['peak_mb']:,.0f} MB | "
                f"{row['torch_import_mb']:,.0f} MB | {row['before_mb']:,.0f} MB | "
                f"{row['peak_mb'] - row['before_mb']:,.0f} MB | "
                f"{row['step_seconds'][-1]:.2f} |"
            )
        else:
            lines.append(
                f"| rnn-mnist fit pixel_lstm.yaml | {window} | {row['peak_mb']:,.0f} MB | | | | "
                f"whole command {row['seconds']:.0f} s |"
            )
    lines += [
        "",
        "Growth in training: the autograd activations of the BPTT window, the "
        "gradients and Adam's state; truncated BPTT runs the earlier chunks without "
        "autograd, so only the last k steps' activations are kept.",
        "",
    ]
    return "\n".join(lines)


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hidden", type=at_least(1), default=128)
    parser.add_argument("--batch", type=at_least(1), default=100)
    parser.add_argument("--steps", type=at_least(1), default=3, help="training steps per setting")
    parser.add_argument(
        "--tbptt",
        type=at_least(1),
        nargs="*",
        default=[28, 112],
        help="truncated-BPTT window sizes k to measure besides full BPTT",
    )
    parser.add_argument(
        "--fit",
        action="store_true",
        help="also measure the real command (pixel_lstm.yaml, real MNIST)",
    )
    parser.add_argument(
        "--data-dir",
        default=None,
        help="MNIST root for --fit (default: $MNIST_DATA_DIR, else the per-user cache)",
    )
    parser.add_argument(
        "--threads", type=at_least(1), default=None, help="torch threads per process"
    )
    parser.add_argument("--timeout", type=float, default=600, help="seconds per setting")
    parser.add_argument("--results-dir", default="results")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--mode", choices=("step", "fit"), default="step", help=argparse.SUPPRESS)
    parser.add_argument("--k", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--save-dir", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    return args


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    if args.worker:
        import torch

        if args.threads is not None:
            torch.set_num_threads(args.threads)
        if args.mode == "step":
            result = step_worker(args.hidden, args.batch, args.steps, args.k)
        else:
            result = fit_worker(args.data_dir, args.steps, args.k, args.save_dir)
        print(json.dumps(result))
        return 0

    import tempfile

    from data.download import default_data_dir
    from lightning_module.utils.atomic import atomic_write_text
    from lightning_module.utils.environment import environment

    common = [
        "--hidden",
        str(args.hidden),
        "--batch",
        str(args.batch),
        "--steps",
        str(args.steps),
    ] + ([] if args.threads is None else ["--threads", str(args.threads)])
    windows: list[int | None] = [None, *args.tbptt]
    rows = []
    with tempfile.TemporaryDirectory(prefix="rnn-mnist-memory-") as save_dir:
        plan = [("step", k) for k in windows]
        if args.fit:
            plan += [("fit", k) for k in windows]
        for mode, k in plan:
            extra = ["--mode", mode] + ([] if k is None else ["--k", str(k)])
            if mode == "fit":
                extra += ["--data-dir", args.data_dir or default_data_dir(), "--save-dir", save_dir]
            row = {
                "mode": mode,
                "tbptt_steps": k,
                **run_in_fresh_process(common + extra, args.timeout),
            }
            rows.append(row)
            print(f"{mode} tbptt={k}: peak RSS {row['peak_mb']:,.0f} MB", flush=True)
    report = {
        "command": shlex.join(["python", "scripts/measure_memory.py", *argv]),
        "environment": environment(),
        "settings": {"hidden": args.hidden, "batch": args.batch, "steps": args.steps},
        "rows": rows,
    }
    folder = Path(args.results_dir)
    atomic_write_text(folder / "memory.json", json.dumps(report, indent=2) + "\n")
    atomic_write_text(folder / "memory.md", markdown(report))
    print(f"wrote {folder / 'memory.json'} and {folder / 'memory.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
