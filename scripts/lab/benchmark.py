"""Training samples/s of the user's ``rnn-mnist fit`` against a hand-written loop and bare
Lightning, or against another checkout's ``rnn-mnist fit``: every arm in fresh processes."""

from __future__ import annotations

import dataclasses
import json
import statistics
import sys
import tempfile
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import torch
import torch.nn.functional as F

from lab.command import RNN_MNIST, package_checkout, run_module
from lab.configs import resolve_config
from lab.reports import write_partial_report, write_report
from lab.speed import TrainingSpeed, measure_matmul_peak, peak_device, synchronized_now
from lightning_module.cli import run_cli
from lightning_module.network import IMAGE_PIXELS
from lightning_module.utils.atomic import atomic_write_text
from lightning_module.utils.checks import require_choice, require_int
from lightning_module.utils.environment import environment

DEFAULT_CONFIGS = ("rnn", "lstm", "gru")
GATE_BLOCKS = {"rnn": 1, "gru": 3, "lstm": 4}
REPORT_STEM = "benchmark"
COMPARE_REPORT_STEM = "benchmark_compare"  # a checkout against another: kept beside the main one
ARM_LABELS = {
    "hand": "hand loop",
    "user": "`rnn-mnist fit`",
    "bare": "bare Lightning",
    "other": "`rnn-mnist fit`, other checkout",
    "this": "`rnn-mnist fit`, this checkout",
}
WORKER_ARMS = ("hand", "bare")  # the arms `python -m lab.benchmark` runs
FLOPS_FORMULA = (
    "training FLOPs per sample = 3 x forward; forward = sum over layers of "
    "T * 2 * G * H * (D + H) + 2 * H * C (G: 1 RNN, 3 GRU, 4 LSTM; D = pixels per step for "
    "layer 1, H above; matmuls only)"
)


def training_flops_per_sample(
    cell: str, hidden_size: int, num_layers: int, pixels_per_step: int, num_classes: int
) -> int:
    """Matmul FLOPs of one training sample: 3 x the forward (the backward does two matmuls of the
    forward's size per forward matmul: gradients of the inputs and of the weights).

    Shapes: T time steps, D inputs per step, H hidden units, G gate blocks per cell (RNN 1, GRU
    3, LSTM 4), C classes. One layer's forward costs ``T * 2 * G * H * (D + H)`` (input and
    recurrent projections of every step), the head ``2 * H * C``; elementwise gate arithmetic,
    the loss and Adam are left out.
    """
    require_choice("cell", cell, GATE_BLOCKS)
    steps = IMAGE_PIXELS // pixels_per_step
    forward = 2 * hidden_size * num_classes
    inputs = pixels_per_step
    for _ in range(num_layers):
        forward += steps * 2 * GATE_BLOCKS[cell] * hidden_size * (inputs + hidden_size)
        inputs = hidden_size
    return 3 * forward


@dataclass
class BenchmarkSettings:
    """What to run.

    Args:
        configs: config names (``scripts/configs/<name>.yaml``) or YAML paths.
        data_dir: MNIST root holding ``MNIST/raw/``.
        steps: timed training steps per arm and round.
        warmup: untimed steps before them.
        rounds: rounds per config (one run of every arm each).
        progress_bar: the user arm's progress bar (users get it on).
        threads: ``OMP_NUM_THREADS`` of every arm's process and torch threads of the peak
            measurement (None: torch's choice).
        extra_args: more ``rnn-mnist`` options for every arm (e.g. ``--data.val_size 100``);
            relative paths in them are read from the measured checkout.
        matmul_size: S of the peak measurement.
        compare_with: another checkout of this repository: time the user arm of both instead.
    """

    configs: tuple[str, ...] = DEFAULT_CONFIGS
    data_dir: str = ""
    steps: int = 100
    warmup: int = 10
    rounds: int = 5
    progress_bar: bool = True
    threads: int | None = None
    extra_args: tuple[str, ...] = ()
    matmul_size: int = 2048
    compare_with: str | None = None

    def validate(self) -> None:
        for name in ("steps", "rounds", "matmul_size"):
            require_int(name, getattr(self, name), 1)
        require_int("warmup", self.warmup, 0)
        require_int("threads", self.threads, 1, optional=True)
        if not self.configs:
            raise ValueError("configs must name at least one config")
        if (
            self.compare_with is not None
            and not (Path(self.compare_with) / "lightning_module" / "cli.py").is_file()
        ):
            raise ValueError(
                f"--compare-with {self.compare_with!r} is not a checkout of this repository "
                "(no lightning_module/cli.py in it)"
            )

    def arms(self) -> dict[str, tuple[str, Path]]:
        """Arm name -> (what runs, the checkout it runs in); the first arm is the reference.

        Each arm trains ``warmup`` untimed then ``steps`` timed batches of one epoch of the
        config, in a process of its own per round:

        - ``hand``: a minimal loop over the config's model (``RecurrentClassifier`` as a plain
          module: its input shifts, cross-entropy plus its L2 term, gradient clipping where the
          config clips, Adam) on batches taken from the data module beforehand;
        - ``user``: ``python -m lightning_module.cli fit`` (what the installed ``rnn-mnist``
          runs) with the config, its logger, callbacks and progress bar, timed by one more
          callback given on its command line (``lab.speed.TrainingSpeed``);
        - ``bare``: the same network, shifts, loss and Adam in a LightningModule of a few lines
          under a Trainer with no logger, callbacks, checkpointing or progress bar.

        With ``compare_with``: the ``user`` arm of that checkout (``other``) and of the one this
        process imported (``this``), each with its own packages and this checkout's config and
        timing callback.
        """
        this = package_checkout()
        if self.compare_with is None:
            return {arm: (arm, this) for arm in ("hand", "user", "bare")}
        return {"other": ("user", Path(self.compare_with).resolve()), "this": ("user", this)}


def fit_args(config: Path, settings: BenchmarkSettings, save_dir: Path) -> list[str]:
    """The ``rnn-mnist`` options of every arm: the config as users run it on the benchmark's
    data, one epoch of ``warmup + steps`` training batches, one validation and one test batch."""
    return [
        "--config", str(config.resolve()),
        "--data.data_dir", str(Path(settings.data_dir).resolve()),
        "--trainer.default_root_dir", str(save_dir),
        "--trainer.max_epochs", "1",
        "--trainer.limit_train_batches", str(settings.warmup + settings.steps),
        "--trainer.check_val_every_n_epoch", "1",
        "--trainer.limit_val_batches", "1",
        "--trainer.limit_test_batches", "1",
        "--trainer.enable_progress_bar", str(settings.progress_bar).lower(),
        *settings.extra_args,
    ]  # fmt: skip


def build_cli(args: list[str]):
    """The CLI's model, data module and trainer for ``args``, nothing run."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="LightningCLI's args parameter")
        return run_cli(args, run=False)


def describe_config(cli, settings: BenchmarkSettings) -> dict[str, Any]:
    """Shape and FLOPs of the model the CLI built; refuses a timed window longer than an epoch
    (it would reach validation)."""
    cli.datamodule.setup("fit")
    batches = len(cli.datamodule.train_dataloader())
    if settings.warmup + settings.steps > batches:
        raise ValueError(
            f"warmup + steps = {settings.warmup + settings.steps} exceeds the {batches} training "
            "batches of one epoch: the timed window must not reach validation; lower --steps"
        )
    h = cli.model.hparams
    flops = training_flops_per_sample(
        h.cell, h.hidden_size, h.num_layers, h.pixels_per_step, h.num_classes
    )
    return {
        "cell": h.cell,
        "hidden_size": h.hidden_size,
        "num_layers": h.num_layers,
        "pixels_per_step": h.pixels_per_step,
        "batch_size": cli.datamodule.batch_size,
        "gradient_clip_val": cli.trainer.gradient_clip_val,
        "recurrent_layer": type(cli.model.net.rnn).__name__,
        "training_flops_per_sample": flops,
    }


# --- the arms that run in `python -m lab.benchmark` -------------------------------------------


def time_hand_loop(cli, warmup: int, steps: int) -> dict[str, float]:
    """The hand arm: samples and seconds of ``steps`` timed steps after ``warmup``."""
    model, trainer = cli.model, cli.trainer
    device = trainer.strategy.root_device
    cli.datamodule.setup("fit")
    loader = cli.datamodule.train_dataloader()
    batches = [(x.to(device), y.to(device)) for x, y in islice(loader, warmup + steps)]
    model.net.use_kernels_for(device)  # as RecurrentClassifier.setup does for a fit
    model.to(device).train()
    optimizer = torch.optim.Adam(model.parameters(), lr=model.hparams.lr)
    clip = trainer.gradient_clip_val
    started = synchronized_now(device)
    for index, (images, labels) in enumerate(batches):
        if index == warmup:
            started = synchronized_now(device)
        loss = F.cross_entropy(model(model.training_inputs(images)), labels) + model.l2_term()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if clip:
            torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
        optimizer.step()
    seconds = synchronized_now(device) - started
    timed = sum(len(labels) for _, labels in batches[warmup:])
    return {"samples": timed, "seconds": seconds, "batches": len(batches)}


class BareClassifier(pl.LightningModule):
    """The bare arm's module: ``model``'s network, input shifts, loss, L2 term and Adam, and
    nothing else."""

    def __init__(self, model) -> None:
        super().__init__()
        self.net = model.net
        self.shift, self.l2_term, self.lr = model.training_inputs, model.l2_term, model.hparams.lr

    def training_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int):
        images, labels = batch
        return F.cross_entropy(self.net(self.shift(images)), labels) + self.l2_term()

    def configure_optimizers(self):
        return torch.optim.Adam(self.parameters(), lr=self.lr)


def time_bare_lightning(cli, warmup: int, steps: int) -> dict[str, float]:
    """The bare arm: ``BareClassifier`` fit by a Trainer holding only the timer."""
    device = cli.trainer.strategy.root_device
    cli.model.net.use_kernels_for(device)
    cli.model.train()  # its input shifts apply in training mode
    timer = TrainingSpeed(warmup)
    trainer = pl.Trainer(
        accelerator=device.type,
        devices=1,
        max_epochs=1,
        limit_train_batches=warmup + steps,
        gradient_clip_val=cli.trainer.gradient_clip_val,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        callbacks=[timer],
        default_root_dir=cli.trainer.default_root_dir,
    )
    cli.datamodule.setup("fit")
    trainer.fit(BareClassifier(cli.model), train_dataloaders=cli.datamodule.train_dataloader())
    return {"samples": timer.samples, "seconds": timer.seconds, "batches": timer.batches}


def worker(argv: list[str]) -> int:
    """``python -m lab.benchmark hand|bare JOB_JSON`` (``time_arm`` starts it): run the arm,
    write its figures to the job's report."""
    arm, job_text = argv
    require_choice("arm", arm, WORKER_ARMS)
    job = json.loads(job_text)
    timing = time_hand_loop if arm == "hand" else time_bare_lightning
    cli = build_cli(job["args"])
    figures = timing(cli, job["warmup"], job["steps"])
    atomic_write_text(job["report"], json.dumps(figures) + "\n")
    return 0


# --- rounds ------------------------------------------------------------------------------------


def time_arm(
    kind: str, checkout: Path, args: list[str], settings: BenchmarkSettings, report: Path
) -> float:
    """Run one arm (``kind``: hand, user, bare) in a fresh process of ``checkout``; samples/s."""
    if kind == "user":
        timer = {
            "class_path": "lab.speed.TrainingSpeed",
            "init_args": {"warmup": settings.warmup, "report": str(report)},
        }
        command = [RNN_MNIST, "fit", *args, f"--trainer.callbacks+={json.dumps(timer)}"]
    else:
        job = {"args": args, "warmup": settings.warmup, "steps": settings.steps}
        command = ["lab.benchmark", kind, json.dumps({**job, "report": str(report)})]
    status, tail = run_module(command, checkout, settings.threads)
    if status != 0:
        raise RuntimeError(f"the {kind} arm in {checkout} exited with {status}: {tail}")
    figures = json.loads(report.read_text())
    if figures["samples"] == 0 or figures["seconds"] <= 0:
        raise RuntimeError(f"the {kind} arm in {checkout} timed no training step: {figures}")
    return figures["samples"] / figures["seconds"]


def round_order(arms: list[str], index: int) -> list[str]:
    """Round ``index``'s order: ``arms`` rotated by ``index``, so no arm always runs first."""
    shift = index % len(arms)
    return arms[shift:] + arms[:shift]


def measure_config(
    config: Path, settings: BenchmarkSettings, save_dir: Path, say: Callable[[str], None]
) -> dict[str, list[float]]:
    """Every round of one config: arm name -> samples/s per round. Each round runs every arm
    once, in an order that rotates from round to round."""
    args = fit_args(config, settings, save_dir)
    arms = settings.arms()
    rates: dict[str, list[float]] = {arm: [] for arm in arms}
    for index in range(settings.rounds):
        for arm in round_order(list(arms), index):
            kind, checkout = arms[arm]
            report = save_dir / f"{config.stem}-{arm}-{index}.json"
            rates[arm].append(time_arm(kind, checkout, args, settings, report))
        figures = ", ".join(f"{arm} {rates[arm][-1]:,.0f}/s" for arm in arms)
        say(f"{config.stem} round {index + 1}/{settings.rounds}: {figures}")
    return rates


def summarise(info: dict[str, Any], rates: dict[str, list[float]], peak: float) -> dict[str, Any]:
    """Per arm: median samples/s, ms/step and GFLOP/s; beside the first arm (the reference),
    the median ratio to it and the milliseconds added per step, per round and their median."""
    batch = info["batch_size"]
    reference = next(iter(rates))
    arms: dict[str, Any] = {}
    for arm, per_round in rates.items():
        median = statistics.median(per_round)
        gflops = median * info["training_flops_per_sample"] / 1e9
        figures = {
            "samples_per_s": median,
            "samples_per_s_per_round": per_round,
            "ms_per_step": 1000 * batch / median,
            "gflops": gflops,
            "peak_fraction": gflops / peak,
        }
        if arm != reference:
            pairs = list(zip(per_round, rates[reference], strict=True))
            ratios = [rate / base for rate, base in pairs]
            added = [1000 * batch * (1 / rate - 1 / base) for rate, base in pairs]
            figures["ratio"] = statistics.median(ratios)
            figures["ratio_per_round"] = ratios
            figures["added_ms_per_step"] = statistics.median(added)
            figures["added_ms_per_step_per_round"] = added
        arms[arm] = figures
    return {**info, "reference": reference, "arms": arms}


def report_stem(settings: BenchmarkSettings) -> str:
    """The reports' file name: ``benchmark``, or ``benchmark_compare`` for two checkouts."""
    return REPORT_STEM if settings.compare_with is None else COMPARE_REPORT_STEM


def run_benchmark(
    settings: BenchmarkSettings,
    results_dir: str | Path,
    command: str,
    say: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Run everything ``settings`` asks for; write ``benchmark.json`` and ``benchmark.md``
    (``benchmark_compare.*`` when it compares two checkouts).

    The peak is the best of several fp32 ``torch.mm`` of two S x S matrices (``2 * S**3`` FLOPs
    each) on the runs' device; after each config the rows so far go to
    ``benchmark.partial.json``, so a failure half-way keeps them.
    """
    settings.validate()
    configs = [resolve_config(name) for name in settings.configs]  # all checked before work
    if settings.threads is not None:
        torch.set_num_threads(settings.threads)
    device = peak_device()
    peak = measure_matmul_peak(settings.matmul_size, device=device)
    say(f"fp32 matmul peak ({settings.matmul_size}^2, {device}): {peak:,.0f} GFLOP/s")
    report: dict[str, Any] = {
        "command": command,
        "environment": environment(),
        "settings": dataclasses.asdict(settings),
        "checkouts": {arm: str(checkout) for arm, (_, checkout) in settings.arms().items()},
        "flops_formula": FLOPS_FORMULA,
        "matmul_peak": {"size": settings.matmul_size, "device": device, "gflops": peak},
        "results": [],
    }
    stem = report_stem(settings)
    with tempfile.TemporaryDirectory(prefix="rnn-mnist-benchmark-") as folder:
        save_dir = Path(folder)
        for config in configs:
            info = {"config": config.stem}
            info |= describe_config(build_cli(fit_args(config, settings, save_dir)), settings)
            row = summarise(info, measure_config(config, settings, save_dir, say), peak)
            say(summary_line(row))
            report["results"].append(row)
            write_partial_report(results_dir, stem, report)  # a failure keeps these
    write_report(results_dir, stem, report, markdown_report(report))
    return report


# --- output ------------------------------------------------------------------------------------


def summary_line(row: dict[str, Any]) -> str:
    """One config's medians, as printed."""
    parts = []
    for arm, figures in row["arms"].items():
        text = f"{arm} {figures['samples_per_s']:,.0f}/s"
        if "ratio" in figures:
            text += f" (x{figures['ratio']:.3f} of {row['reference']})"
        parts.append(text)
    return f"{row['config']}: " + ", ".join(parts)


def markdown_report(report: dict[str, Any]) -> str:
    """The report as a markdown table plus notes."""
    env, s, peak = report["environment"], report["settings"], report["matmul_peak"]
    arms = list(report["checkouts"])
    reference = arms[0]
    compare = s["compare_with"] is not None
    title = "two checkouts' `rnn-mnist fit`" if compare else "Lightning vs a hand-written loop"
    header = ["config", "model", "batch"]
    for arm in arms:
        header.append(f"{ARM_LABELS[arm]} samples/s")
        if arm != reference:
            header += [f"ratio to {reference}", "adds ms/step"]
    lines = [
        f"# Benchmark: {title}",
        "",
        f"Command: `{report['command']}`",
        "",
        f"Machine: {env['machine']}, {env['cpus']} CPU(s), {env['torch_threads']} torch "
        f"thread(s), torch {env['torch']}, pytorch_lightning {env['pytorch_lightning']}"
        + (f", GPU {env['cuda']}" if env["cuda"] else "")
        + f". fp32 matmul peak ({peak['size']}x{peak['size']} torch.mm on {peak['device']}, "
        f"best of 5): **{peak['gflops']:,.0f} GFLOP/s**.",
        "",
        "Checkouts: "
        + ", ".join(f"{arm} `{path}`" for arm, path in report["checkouts"].items())
        + ".",
        "",
        f"Training samples/s of {s['steps']} timed steps after {s['warmup']} warm-up steps, "
        f"validation excluded; every arm runs in a fresh process per round, in an order that "
        f"rotates every round; medians of {s['rounds']} rounds. The user's path runs "
        f"`python -m lightning_module.cli fit` with the config, its logger and callbacks, "
        f"progress bar {'on' if s['progress_bar'] else 'off'}, stdout on a pipe.",
        "",
        "| " + " | ".join(header) + " |",
        "|---|---|" + "---:|" * (len(header) - 2),
    ]
    for r in report["results"]:
        cells = [r["config"], f"{r['cell']}-{r['hidden_size']} ({r['recurrent_layer']})"]
        cells.append(str(r["batch_size"]))
        for arm in arms:
            figures = r["arms"][arm]
            cells.append(f"{figures['samples_per_s']:,.0f}")
            if arm != reference:
                cells += [f"{figures['ratio']:.3f}", f"{figures['added_ms_per_step']:.2f}"]
        lines.append("| " + " | ".join(cells) + " |")
    lines += [
        "",
        f"Ratio: per round, an arm's samples/s over {reference}'s, median over rounds. Adds "
        f"ms/step: per round, an arm's milliseconds per step minus {reference}'s, median over "
        "rounds. The JSON has every round, GFLOP/s and the fraction of the peak.",
        "",
        f"FLOPs: {report['flops_formula']}.",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(worker(sys.argv[1:]))
