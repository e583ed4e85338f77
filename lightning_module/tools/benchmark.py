"""Lightning against a hand-written PyTorch loop: training samples/s and GFLOP/s per config.

Shape legend: N batch, T time steps, D inputs per step, H hidden units, G gate blocks per cell
(RNN 1, GRU 3, LSTM 4), C classes, L layers.

For each config (default rnn, lstm, gru from scripts/configs), on the same real MNIST training
split and batch size, three arms (``benchmark_arms``): (a) ``hand``, a minimal PyTorch loop;
(b) ``lightning``, the user's path, ``rnn-mnist`` as users run it; (c) ``bare``, the same
network, loss, Adam and data loader in a LightningModule of a few lines under a Trainer with
nothing else. What (b) costs beyond (c) is this project's; what (c) costs beyond (a) is
Lightning's.

Each config runs in a fresh process per kind of standard output, as users run the CLI: with
stdout and stderr on a pseudo-terminal (``terminal``, what a shell window gives) or on a pipe
(``pipe``, as ``| tee log`` or a batch job's log file), which this process reads as they write.

The arms take turns step by step: each round is one fit of (b) and one of (c), each of
``warmup + steps`` steps, and after every Lightning step a callback runs one hand step (timed
apart). The two fits swap places from one round to the next, so neither always runs first. A
Lightning step is timed from the end of the previous hand step to the end of its batch (fetch,
loop and callbacks included); the window must fit in one epoch, so validation never falls in it.
Per round each arm's samples/s is samples / its summed step times; the figures are medians over
rounds and the ratios are the medians of the per-round ratios (b)/(a) and (c)/(a). Taking turns
costs the arms some cache warmth, so absolute figures can sit a little below those of any arm run
alone.

FLOPs (matmuls only; elementwise gate arithmetic, the loss and Adam are left out): per sample,
one layer's forward costs ``T * 2 * G * H * (D + H)`` (input and recurrent projections of every
step), the head ``2 * H * C``; training costs 3x the forward (the backward does two matmuls of
the forward's size per forward matmul: gradients of the inputs and of the weights). The peak is
the best of several ``torch.mm`` of two S x S fp32 matrices (``2 * S**3`` FLOPs each) on the
same threads.
"""

from __future__ import annotations

import dataclasses
import json
import os
import statistics
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from lightning_module.network import IMAGE_PIXELS
from lightning_module.tools.benchmark_arms import (
    build_cli,
    cli_args,
    make_hand_loop,
    run_bare_round,
    run_round,
)
from lightning_module.tools.reproduce import DEFAULT_CONFIGS, resolve_config
from lightning_module.tools.speed import measure_matmul_peak, peak_device
from lightning_module.tools.worker_process import STDOUT_KINDS, run_with_stdout
from lightning_module.utils.atomic import write_partial_report, write_report
from lightning_module.utils.checks import require_choice, require_int
from lightning_module.utils.environment import environment

GATE_BLOCKS = {"rnn": 1, "gru": 3, "lstm": 4}
PACKAGE_ROOT = Path(__file__).resolve().parents[2]  # holds lightning_module/ and data/
REPORT_STEM = "benchmark"
FLOPS_FORMULA = (
    "training FLOPs per sample = 3 x forward; forward = sum over layers of "
    "T * 2 * G * H * (D + H) + 2 * H * C (G: 1 RNN, 3 GRU, 4 LSTM; D = pixels per step for "
    "layer 1, H above; matmuls only)"
)


# --- arithmetic --------------------------------------------------------------------------------


def training_flops_per_sample(
    cell: str, hidden_size: int, num_layers: int, pixels_per_step: int, num_classes: int
) -> int:
    """Matmul FLOPs of one training sample (forward + backward = 3 x forward), see module doc."""
    require_choice("cell", cell, GATE_BLOCKS)
    steps = IMAGE_PIXELS // pixels_per_step
    forward = 2 * hidden_size * num_classes
    inputs = pixels_per_step
    for _ in range(num_layers):
        forward += steps * 2 * GATE_BLOCKS[cell] * hidden_size * (inputs + hidden_size)
        inputs = hidden_size
    return 3 * forward


# --- the benchmark -----------------------------------------------------------------------------

ARMS = ("hand", "lightning", "bare")


@dataclass
class BenchmarkSettings:
    """What to run.

    Args:
        configs: config names (``<config_dir>/<name>.yaml``) or YAML paths.
        config_dir: the folder config names are looked up in.
        data_dir: MNIST root holding ``MNIST/raw/``.
        steps: timed training steps per arm and round.
        warmup: untimed steps before them.
        rounds: rounds per config and kind of stdout (one fit of each Lightning arm).
        progress_bar: the Lightning arm's progress bar (users get it on).
        stdout: where each config's process writes: "terminal" (a pseudo-terminal), "pipe".
        threads: compute threads of every process (None: torch's choice): each config's
            process starts with ``OMP_NUM_THREADS`` set to it, as time_to_accuracy starts its
            runs, and this one, already running, calls ``torch.set_num_threads``.
        extra_args: more CLI options for every Lightning run (e.g. ``--data.val_size 100``).
        matmul_size: S of the peak measurement.
    """

    configs: tuple[str, ...] = DEFAULT_CONFIGS
    config_dir: str = "scripts/configs"
    data_dir: str = ""
    steps: int = 100
    warmup: int = 10
    rounds: int = 5
    progress_bar: bool = True
    stdout: tuple[str, ...] = STDOUT_KINDS
    threads: int | None = None
    extra_args: tuple[str, ...] = ()
    matmul_size: int = 2048

    def validate(self) -> None:
        for name in ("steps", "rounds", "matmul_size"):
            require_int(name, getattr(self, name), 1)
        require_int("warmup", self.warmup, 0)
        require_int("threads", self.threads, 1, optional=True)
        if not self.stdout:
            raise ValueError(f"stdout must name at least one of {STDOUT_KINDS}")
        for kind in self.stdout:
            require_choice("stdout", kind, STDOUT_KINDS)
        if not Path(self.config_dir).is_dir():
            raise ValueError(f"config_dir {self.config_dir!r} is not a folder of configs")
        if not self.configs:
            raise ValueError("configs must name at least one config")

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, values: dict[str, Any]) -> BenchmarkSettings:
        tuples = ("configs", "stdout", "extra_args")
        return cls(**{k: tuple(v) if k in tuples else v for k, v in values.items()})


def describe_config(cli) -> dict[str, Any]:
    """Name, shape and FLOPs of the model the CLI built."""
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


def _check_window_fits_one_epoch(cli, settings: BenchmarkSettings) -> None:
    cli.datamodule.setup("fit")
    batches = len(cli.datamodule.train_dataloader())
    if settings.warmup + settings.steps > batches:
        raise ValueError(
            f"warmup + steps = {settings.warmup + settings.steps} exceeds the {batches} training "
            "batches of one epoch: the timed window must not reach validation; lower --steps"
        )


def config_args(config: Path, settings: BenchmarkSettings, save_dir: str) -> list[str]:
    """The CLI options of one config's Lightning runs."""
    max_steps = settings.warmup + settings.steps
    return cli_args(
        config,
        settings.data_dir,
        save_dir,
        max_steps,
        settings.progress_bar,
        list(settings.extra_args),
    )


def round_order(index: int) -> tuple[str, str]:
    """The order of round ``index``'s two fits: the user's path first in even rounds, the bare
    loop first in odd ones, so that neither always runs in the other's wake."""
    return ("lightning", "bare") if index % 2 == 0 else ("bare", "lightning")


def measure_rounds(config: Path, settings: BenchmarkSettings, save_dir: str) -> dict[str, Any]:
    """All rounds of one config in this process: samples/s per arm and round.

    Returns ``{"hand": [...], "lightning": [...], "bare": [...], "lightning_ratio": [...],
    "bare_ratio": [...]}``, one entry per round; each ratio is against the hand steps taken in
    turn with that Lightning arm.
    """
    args = config_args(config, settings, save_dir)
    reference = build_cli(args)
    hand = make_hand_loop(reference)
    rounds: dict[str, list[float]] = {
        "hand": [], "lightning": [], "bare": [], "lightning_ratio": [], "bare_ratio": []
    }  # fmt: skip
    fits = {
        "lightning": lambda: run_round(args, settings.warmup, settings.steps, hand),
        "bare": lambda: run_bare_round(reference, save_dir, settings.warmup, settings.steps, hand),
    }
    for index in range(settings.rounds):
        rates = {arm: fits[arm]() for arm in round_order(index)}
        user, bare = rates["lightning"], rates["bare"]
        rounds["hand"].append(statistics.mean([user["hand"], bare["hand"]]))
        rounds["lightning"].append(user["lightning"])
        rounds["bare"].append(bare["lightning"])
        rounds["lightning_ratio"].append(user["lightning"] / user["hand"])
        rounds["bare_ratio"].append(bare["lightning"] / bare["hand"])
    return rounds


def added_ms_per_step(batch_size: int, rates: list[float], ratios: list[float]) -> list[float]:
    """Per round, the milliseconds a Lightning step took beyond the hand steps timed in turn with
    it: ``batch / rate - batch / hand_rate``, where ``hand_rate = rate / ratio``.

    The arm's ratio to the hand loop is ``hand_ms / (hand_ms + added_ms)``.
    """
    return [
        1000 * batch_size * (1 - ratio) / rate for rate, ratio in zip(rates, ratios, strict=True)
    ]


def summarise_rounds(
    info: dict[str, Any], rounds: dict[str, list[float]], peak: float
) -> dict[str, Any]:
    """Medians over rounds: samples/s and GFLOP/s per arm, the hand step's milliseconds, the two
    ratios and the milliseconds each Lightning arm adds per step."""
    result: dict[str, Any] = dict(info)
    for arm in ARMS:
        median = statistics.median(rounds[arm])
        gflops = median * info["training_flops_per_sample"] / 1e9
        result[arm] = {
            "samples_per_s": median,
            "samples_per_s_per_round": rounds[arm],
            "gflops": gflops,
            "peak_fraction": gflops / peak,
        }
    result["hand"]["ms_per_step"] = 1000 * info["batch_size"] / result["hand"]["samples_per_s"]
    for arm, ratios in (("lightning", "lightning_ratio"), ("bare", "bare_ratio")):
        added = added_ms_per_step(info["batch_size"], rounds[arm], rounds[ratios])
        result[arm]["added_ms_per_step"] = statistics.median(added)
        result[arm]["added_ms_per_step_per_round"] = added
    result["ratio"] = statistics.median(rounds["lightning_ratio"])
    result["ratio_per_round"] = rounds["lightning_ratio"]
    result["bare_ratio"] = statistics.median(rounds["bare_ratio"])
    result["bare_ratio_per_round"] = rounds["bare_ratio"]
    return result


def benchmark_config(
    config: Path,
    settings: BenchmarkSettings,
    save_dir: str,
    peak: float,
    say: Callable[[str], None],
) -> list[dict[str, Any]]:
    """One config: a fresh process per kind of stdout; one result row per kind."""
    reference = build_cli(config_args(config, settings, save_dir))
    _check_window_fits_one_epoch(reference, settings)
    info = {"config": config.stem, **describe_config(reference)}
    rows = []
    for kind in settings.stdout:
        measured = run_worker(config, settings, save_dir, kind)
        row = summarise_rounds(info, measured["rounds"], peak)
        row["stdout"] = kind
        row["stdout_isatty"] = measured["stdout_isatty"]
        row["torch_threads"] = measured["torch_threads"]
        say(
            f"{config.stem} ({kind}): hand {row['hand']['samples_per_s']:,.0f}/s, Lightning "
            f"{row['lightning']['samples_per_s']:,.0f}/s (ratio {row['ratio']:.3f}), bare "
            f"Lightning {row['bare']['samples_per_s']:,.0f}/s (ratio {row['bare_ratio']:.3f})"
        )
        rows.append(row)
    return rows


def run_worker(
    config: Path, settings: BenchmarkSettings, save_dir: str, stdout: str
) -> dict[str, Any]:
    """``measure_rounds`` in a new process whose stdout and stderr are a pseudo-terminal
    (``stdout="terminal"``) or a pipe (``"pipe"``), drained here as they are written."""
    result = Path(save_dir) / f"{config.stem}-{stdout}.json"
    # the worker imports this checkout's packages even where they are not installed; it starts
    # in an empty folder, so no folder of the caller's (one named data, say) can shadow them,
    # and so the data folder, config and save folder it is given are absolute (paths inside
    # extra_args are passed as written: give those absolute)
    data_dir = os.path.abspath(settings.data_dir) if settings.data_dir else settings.data_dir
    absolute = dataclasses.replace(settings, data_dir=data_dir)
    job = {
        "config": str(config.resolve()),
        "settings": absolute.to_json(),
        "save_dir": os.path.abspath(save_dir),
    }
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PACKAGE_ROOT), env.get("PYTHONPATH")]))
    if settings.threads is not None:
        env["OMP_NUM_THREADS"] = str(settings.threads)
    cwd = Path(tempfile.mkdtemp(prefix="worker-", dir=save_dir))
    command = [
        sys.executable, "-m", "lightning_module.tools.benchmark_worker", json.dumps(job),
        str(result),
    ]  # fmt: skip
    status, tail = run_with_stdout(command, stdout, cwd=cwd, env=env)
    if status != 0:
        raise RuntimeError(
            f"the benchmark process for {config.stem} ({stdout}) exited with {status}: {tail}"
        )
    return json.loads(result.read_text())


def run_benchmark(
    settings: BenchmarkSettings,
    results_dir: str | Path,
    command: str,
    say: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Run everything ``settings`` asks for; write ``benchmark.json`` and ``benchmark.md``."""
    settings.validate()
    configs = [
        resolve_config(name, settings.config_dir) for name in settings.configs
    ]  # all checked before work
    if settings.threads is not None:
        torch.set_num_threads(settings.threads)
    device = peak_device()
    peak = measure_matmul_peak(settings.matmul_size, device=device)
    say(f"fp32 matmul peak ({settings.matmul_size}^2, {device}): {peak:,.0f} GFLOP/s")
    report: dict[str, Any] = {
        "command": command,
        "environment": environment(),
        "settings": {
            "steps": settings.steps,
            "warmup": settings.warmup,
            "rounds": settings.rounds,
            "progress_bar": settings.progress_bar,
            "stdout": list(settings.stdout),
            "threads": settings.threads,
            "extra_args": list(settings.extra_args),
            "data_dir": settings.data_dir,
        },
        "flops_formula": FLOPS_FORMULA,
        "matmul_peak": {"size": settings.matmul_size, "device": device, "gflops": peak},
        "results": [],
    }
    with tempfile.TemporaryDirectory(prefix="rnn-mnist-benchmark-") as save_dir:
        for config in configs:
            report["results"].extend(benchmark_config(config, settings, save_dir, peak, say))
            write_partial_report(
                results_dir, REPORT_STEM, report
            )  # a failure keeps the last report
    write_report(results_dir, REPORT_STEM, report, markdown_report(report))
    return report


# --- output ------------------------------------------------------------------------------------


def markdown_report(report: dict[str, Any]) -> str:
    """The report as a markdown table plus notes."""
    env, s, peak = report["environment"], report["settings"], report["matmul_peak"]
    lines = [
        "# Benchmark: Lightning vs a hand-written PyTorch loop",
        "",
        f"Command: `{report['command']}`",
        "",
        f"Machine: {env['machine']}, {env['cpus']} CPU(s), {env['torch_threads']} torch "
        f"thread(s), torch {env['torch']}, pytorch_lightning {env['pytorch_lightning']}"
        + (f", GPU {env['cuda']}" if env["cuda"] else "")
        + f". fp32 matmul peak ({peak['size']}x{peak['size']} torch.mm, best of 5): "
        f"**{peak['gflops']:,.0f} GFLOP/s**.",
        "",
        f"Training samples/s after {s['warmup']} warm-up steps, {s['steps']} timed steps per arm "
        f"and round (the arms take turns step by step; the two Lightning fits swap places "
        f"every round), median of {s['rounds']} rounds; "
        "validation excluded. (a) hand: a minimal PyTorch loop; (b) Lightning: `rnn-mnist` as "
        "users run it (config, logger, callbacks, progress bar "
        f"{'on' if s['progress_bar'] else 'off'}); (c) bare Lightning: the same network, data "
        "loader and Adam in a minimal LightningModule, Trainer without logger, callbacks or "
        "progress bar. stdout: each config ran in a fresh process with stdout and stderr on a "
        "pseudo-terminal (terminal) or a pipe read as written (pipe).",
        "",
        "| config | model | batch | stdout | hand samples/s | hand ms/step | Lightning samples/s "
        "| ratio (b)/(a) | (b) adds ms/step | bare Lightning samples/s | ratio (c)/(a) "
        "| (c) adds ms/step | hand GFLOP/s (% peak) | Lightning GFLOP/s (% peak) |",
        "|---|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in report["results"]:
        hand, light, bare = r["hand"], r["lightning"], r["bare"]
        lines.append(
            f"| {r['config']} | {r['cell']}-{r['hidden_size']} ({r['recurrent_layer']}) "
            f"| {r['batch_size']} | {r['stdout']} | {hand['samples_per_s']:,.0f} "
            f"| {hand['ms_per_step']:.2f} | {light['samples_per_s']:,.0f} | {r['ratio']:.3f} "
            f"| {light['added_ms_per_step']:.2f} | {bare['samples_per_s']:,.0f} "
            f"| {r['bare_ratio']:.3f} | {bare['added_ms_per_step']:.2f} "
            f"| {hand['gflops']:.1f} ({100 * hand['peak_fraction']:.0f}%) "
            f"| {light['gflops']:.1f} ({100 * light['peak_fraction']:.0f}%) |"
        )
    lines += [
        "",
        "Adds ms/step: per round, a Lightning arm's milliseconds per step minus those of the hand "
        "steps timed in turn with it (median over rounds); the ratio is hand ms / (hand ms + "
        "added ms).",
        "",
        f"FLOPs: {report['flops_formula']}.",
        "",
    ]
    return "\n".join(lines)
