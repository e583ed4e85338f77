"""Lightning against a hand-written PyTorch loop: training samples/s, GFLOP/s, time to 99%.

Shape legend: N batch, T time steps, D inputs per step, H hidden units, G gate blocks per cell
(RNN 1, GRU 3, LSTM 4), C classes, L layers.

For each config (default rnn, lstm, gru from scripts/configs), on the same real MNIST training
split and batch size:

(a) ``hand``: a minimal PyTorch loop over in-memory tensors: shuffled batches by
    ``index_select``, the config's network (a copy of the ``SequenceClassifierNet`` the CLI
    builds) on batches shifted as the config's ``augment_shift`` says, cross-entropy plus the
    config's L2 term, ``clip_grad_norm_`` when the config clips,
    Adam. No metrics, no logging.
(b) ``lightning``: the user's path: ``RecurrentClassifier`` + ``MNISTDataModule`` built by the
    ``rnn-mnist`` CLI from the same config, with the users' logger, callbacks and progress bar,
    trained by ``Trainer.fit``.
(c) ``bare``: Lightning's own loop at its leanest: the same network, loss, Adam and data loader
    in a LightningModule of a few lines (``BareClassifier``), fit by a Trainer with no logger,
    callbacks, checkpointing or progress bar. What (b) costs beyond (c) is this project's; what
    (c) costs beyond (a) is Lightning's.

Each config runs in a fresh process per kind of standard output, as users run the CLI: with
stdout and stderr on a pseudo-terminal (``terminal``, what a shell window gives) or on a pipe
(``pipe``, as ``| tee log`` or a batch job's log file), which this process reads as they write.

The arms take turns step by step: each round is one fit of (b) and one of (c), each of
``warmup + steps`` steps, and after every Lightning step a callback runs one hand step (timed
apart), so bursts of load from other processes on a shared machine hit the arms alike. A
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

import copy
import dataclasses
import json
import math
import os
import statistics
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import torch
import torch.nn.functional as F
from pytorch_lightning.callbacks import Callback

from lightning_module.augment import random_shift
from lightning_module.cli import run_cli
from lightning_module.network import IMAGE_PIXELS, SequenceClassifierNet
from lightning_module.tools.reproduce import DEFAULT_CONFIGS, resolve_config
from lightning_module.tools.speed import synchronized_now
from lightning_module.tools.worker_process import STDOUT_KINDS, run_with_stdout
from lightning_module.utils.atomic import write_partial_report, write_report
from lightning_module.utils.checks import require_choice, require_int, require_number
from lightning_module.utils.environment import environment

GATE_BLOCKS = {"rnn": 1, "gru": 3, "lstm": 4}
PACKAGE_ROOT = Path(__file__).resolve().parents[2]  # holds lightning_module/ and data/
TARGET_ACCURACY = 0.99
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


def measure_matmul_peak(size: int = 2048, repeats: int = 5, device: str = "cpu") -> float:
    """Best fp32 ``torch.mm`` rate over ``repeats`` products of two (size, size) matrices, GFLOP/s.

    The best rather than the median: a peak is what the hardware can do when nothing interferes.
    """
    require_int("size", size, 1)
    require_int("repeats", repeats, 1)
    device = torch.device(device)
    generator = torch.Generator().manual_seed(0)
    a = torch.rand(size, size, generator=generator).to(device)
    b = torch.rand(size, size, generator=generator).to(device)
    torch.mm(a, b)  # untimed: first-call allocation and kernel selection
    best = math.inf
    for _ in range(repeats):
        start = synchronized_now(device)
        torch.mm(a, b)
        best = min(best, synchronized_now(device) - start)
    return 2 * size**3 / best / 1e9


# --- the arms ----------------------------------------------------------------------------------


def cli_args(
    config: Path, data_dir: str, save_dir: str, max_steps: int, progress_bar: bool, extra: list[str]
) -> list[str]:
    """The CLI options of one Lightning arm: the config as users run it, on ``data_dir``."""
    return [
        "--config",
        str(config),
        "--data.data_dir",
        data_dir,
        "--trainer.max_steps",
        str(max_steps),
        "--trainer.logger.init_args.save_dir",
        save_dir,
        "--trainer.enable_progress_bar",
        str(progress_bar).lower(),
        # the run stops mid-epoch before any validation: check early stopping only after one
        "--early_stopping.check_on_train_epoch_end",
        "false",
        *extra,
    ]


def build_cli(args: list[str], callbacks: list[Callback] | None = None):
    """The CLI's model, data module and trainer for ``args``, nothing run."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="LightningCLI's args parameter")
        return run_cli(args, run=False, extra_callbacks=callbacks)


class InterleavedStepTimer(Callback):
    """Time ``steps`` Lightning training steps after ``warmup`` untimed ones, and after each
    Lightning step one step of ``hand`` (timed apart), so both arms see the same load.

    A Lightning step is timed from the end of the previous hand step to the end of its own
    batch: the batch fetch, Lightning's loop and every callback are included. The window must
    not reach validation (``benchmark_config`` checks that it fits in one epoch).

    Args:
        warmup: untimed steps of each arm first.
        steps: timed steps of each arm.
        hand: arm (a), stepped once after every Lightning step; None times Lightning alone.
    """

    def __init__(self, warmup: int, steps: int, hand: HandLoop | None = None) -> None:
        self.warmup, self.steps, self.hand = warmup, steps, hand
        self.batches = 0
        self.samples = {"lightning": 0, "hand": 0}
        self.seconds = {"lightning": 0.0, "hand": 0.0}
        self._mark: float | None = None

    def _now(self, pl_module: pl.LightningModule) -> float:
        return synchronized_now(pl_module.device)

    def on_train_start(self, trainer, pl_module) -> None:
        self._mark = self._now(pl_module)

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        now = self._now(pl_module)
        self.batches += 1
        timed = self.warmup < self.batches <= self.warmup + self.steps
        if timed:
            self.seconds["lightning"] += now - self._mark
            self.samples["lightning"] += len(batch[1])
        if self.hand is not None and self.batches <= self.warmup + self.steps:
            with torch.enable_grad():
                start = self._now(pl_module)
                size = self.hand.step()
                now = self._now(pl_module)
            if timed:
                self.seconds["hand"] += now - start
                self.samples["hand"] += size
        self._mark = self._now(pl_module)


@dataclass
class HandLoop:
    """Arm (a): the config's network trained by a minimal loop on in-memory tensors.

    Args:
        net: the network (a copy of the CLI's), on ``images``' device.
        images: training images, (N_train, 28, 28) float32.
        labels: training labels, (N_train,) int64.
        batch_size: N per step.
        lr: Adam's learning rate.
        l2_lambda: weight of ``1/2 * ||W||^2`` over the net's ``l2_weights(l2_scope)``.
        l2_scope: "output" (head weight) or "all" (every weight matrix).
        clip_norm: gradient-norm clip, or None.
        augment_shift: random-shift augmentation of each batch (the model's ``augment_shift``).
    """

    net: SequenceClassifierNet
    images: torch.Tensor
    labels: torch.Tensor
    batch_size: int
    lr: float
    l2_lambda: float
    l2_scope: str
    clip_norm: float | None
    augment_shift: int = 0
    order: torch.Tensor = field(init=False)
    position: int = field(init=False, default=0)

    def __post_init__(self) -> None:
        self.net.train()
        self.optimizer = torch.optim.Adam(self.net.parameters(), lr=self.lr)
        self.generator = torch.Generator().manual_seed(0)
        self._reshuffle()

    def _reshuffle(self) -> None:
        self.order = torch.randperm(len(self.labels), generator=self.generator)
        self.order = self.order.to(self.images.device)
        self.position = 0

    def step(self) -> int:
        """One training step on the next batch; returns its size."""
        if self.position >= len(self.order):
            self._reshuffle()
        index = self.order[self.position : self.position + self.batch_size]
        self.position += self.batch_size
        x, y = self.images.index_select(0, index), self.labels.index_select(0, index)
        loss = F.cross_entropy(self.net(random_shift(x, self.augment_shift)), y)
        loss = loss + self.net.l2_penalty(self.l2_scope, self.l2_lambda)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if self.clip_norm is not None:
            torch.nn.utils.clip_grad_norm_(self.net.parameters(), self.clip_norm)
        self.optimizer.step()
        return len(y)


def copy_of_network(cli) -> SequenceClassifierNet:
    """A copy of the CLI's network with the kernels for the trainer's device, as
    ``RecurrentClassifier.setup`` chooses them for the Lightning arm."""
    net = copy.deepcopy(cli.model.net)
    net.use_kernels_for(cli.trainer.strategy.root_device)
    return net


def make_hand_loop(cli) -> HandLoop:
    """Arm (a) for the config behind ``cli``: same network, data, batch size and optimiser."""
    datamodule, model, trainer = cli.datamodule, cli.model, cli.trainer
    datamodule.setup("fit")
    train = datamodule.train_dataloader().dataset
    device = trainer.strategy.root_device
    hparams = model.hparams
    clip = trainer.gradient_clip_val
    net = copy_of_network(cli)
    return HandLoop(
        net=net.to(device),
        images=train.inputs.to(device),
        labels=train.targets.to(device),
        batch_size=datamodule.batch_size,
        lr=hparams.lr,
        l2_lambda=hparams.l2_lambda,
        l2_scope=hparams.l2_scope,
        clip_norm=float(clip) if clip else None,
        augment_shift=hparams.augment_shift,
    )


class BareClassifier(pl.LightningModule):
    """Arm (c): the config's network, loss and optimiser as the shortest LightningModule.

    Args:
        net: the network (a copy of the CLI's).
        lr: Adam's learning rate.
        l2_lambda: weight of ``1/2 * ||W||^2`` over ``net.l2_weights(l2_scope)``.
        l2_scope: "output" or "all".
        augment_shift: random-shift augmentation of each training batch.
    """

    def __init__(
        self,
        net: SequenceClassifierNet,
        lr: float,
        l2_lambda: float,
        l2_scope: str,
        augment_shift: int,
    ) -> None:
        super().__init__()
        self.net = net
        self.lr, self.l2_lambda, self.l2_scope = lr, l2_lambda, l2_scope
        self.augment_shift = augment_shift

    def training_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int):
        images, labels = batch
        logits = self.net(random_shift(images, self.augment_shift))
        return F.cross_entropy(logits, labels) + self.net.l2_penalty(self.l2_scope, self.l2_lambda)

    def configure_optimizers(self):
        return torch.optim.Adam(self.parameters(), lr=self.lr)


def _rates(timer: InterleavedStepTimer) -> dict[str, float]:
    if min(timer.seconds.values()) <= 0 or min(timer.samples.values()) == 0:
        raise RuntimeError(f"a round timed no training step: {timer.samples}")
    return {arm: timer.samples[arm] / timer.seconds[arm] for arm in ("hand", "lightning")}


def run_round(args: list[str], warmup: int, steps: int, hand: HandLoop) -> dict[str, float]:
    """Arm (b) against (a): fit a freshly built CLI model for ``warmup + steps`` steps with
    ``hand`` stepped in turn; samples/s of each arm."""
    timer = InterleavedStepTimer(warmup, steps, hand)
    cli = build_cli(args, [timer])
    cli.trainer.fit(cli.model, datamodule=cli.datamodule)
    return _rates(timer)


def run_bare_round(cli, save_dir: str, warmup: int, steps: int, hand: HandLoop) -> dict[str, float]:
    """Arm (c) against (a): ``BareClassifier`` on a copy of ``cli``'s network, fit by a Trainer
    with nothing but the timer on ``cli``'s training loader; samples/s of each arm."""
    model, trainer = cli.model, cli.trainer
    device = trainer.strategy.root_device
    net = copy_of_network(cli)
    h = model.hparams
    timer = InterleavedStepTimer(warmup, steps, hand)
    bare = pl.Trainer(
        accelerator=device.type,
        devices=1,
        max_steps=warmup + steps,
        gradient_clip_val=trainer.gradient_clip_val,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        callbacks=[timer],
        default_root_dir=save_dir,
    )
    cli.datamodule.setup("fit")
    module = BareClassifier(net, h.lr, h.l2_lambda, h.l2_scope, h.augment_shift)
    bare.fit(module, train_dataloaders=cli.datamodule.train_dataloader())
    return _rates(timer)


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
        threads: ``torch.set_num_threads`` in every process (None: torch's choice).
        extra_args: more CLI options for every Lightning run (e.g. ``--data.val_size 100``).
        matmul_size: S of the peak measurement.
        time_to_accuracy: also fit LSTM until validation accuracy >= ``target_accuracy``.
        accuracy_config: the config of that fit.
        target_accuracy: its goal.
        accuracy_max_epochs: its cap in epochs.
        val_check_interval: validate every this many training steps in that fit (None: per
            epoch).
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
    time_to_accuracy: bool = False
    accuracy_config: str = "lstm"
    target_accuracy: float = TARGET_ACCURACY
    accuracy_max_epochs: int = 20
    val_check_interval: int | None = None

    def validate(self) -> None:
        for name in ("steps", "rounds", "matmul_size", "accuracy_max_epochs"):
            require_int(name, getattr(self, name), 1)
        require_int("warmup", self.warmup, 0)
        require_int("threads", self.threads, 1, optional=True)
        require_number("target_accuracy", self.target_accuracy, 0, 1, low_open=True)
        require_int("val_check_interval", self.val_check_interval, 1, optional=True)
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


def measure_rounds(config: Path, settings: BenchmarkSettings, save_dir: str) -> dict[str, Any]:
    """All rounds of one config in this process: samples/s per arm and round.

    Returns ``{"hand": [...], "lightning": [...], "bare": [...], "lightning_ratio": [...],
    "bare_ratio": [...]}``, one entry per round; each ratio is against the hand steps taken in
    turn with that Lightning arm.
    """
    if settings.threads is not None:
        torch.set_num_threads(settings.threads)
    args = config_args(config, settings, save_dir)
    reference = build_cli(args)
    hand = make_hand_loop(reference)
    rounds: dict[str, list[float]] = {
        "hand": [], "lightning": [], "bare": [], "lightning_ratio": [], "bare_ratio": []
    }  # fmt: skip
    for _ in range(settings.rounds):
        user = run_round(args, settings.warmup, settings.steps, hand)
        bare = run_bare_round(reference, save_dir, settings.warmup, settings.steps, hand)
        rounds["hand"].append(statistics.mean([user["hand"], bare["hand"]]))
        rounds["lightning"].append(user["lightning"])
        rounds["bare"].append(bare["lightning"])
        rounds["lightning_ratio"].append(user["lightning"] / user["hand"])
        rounds["bare_ratio"].append(bare["lightning"] / bare["hand"])
    return rounds


def summarise_rounds(
    info: dict[str, Any], rounds: dict[str, list[float]], peak: float
) -> dict[str, Any]:
    """Medians over rounds: samples/s and GFLOP/s per arm, and the two ratios."""
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
    job = {"config": str(config.resolve()), "settings": settings.to_json(), "save_dir": save_dir}
    # the worker imports this checkout's packages even where they are not installed; it starts
    # in an empty folder, so no folder of the caller's (one named data, say) can shadow them
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PACKAGE_ROOT), env.get("PYTHONPATH")]))
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


class AccuracyClock(Callback):
    """Record (seconds since ``start``, epoch, step, val_acc) after each validation; stop the
    fit once val_acc reaches ``target``."""

    def __init__(self, start: float, target: float) -> None:
        self.start, self.target = start, target
        self.history: list[dict[str, float]] = []
        self.reached: dict[str, float] | None = None

    def on_validation_end(self, trainer, pl_module) -> None:
        if trainer.sanity_checking or "val_acc" not in trainer.callback_metrics:
            return
        point = {
            "seconds": time.perf_counter() - self.start,
            "epoch": trainer.current_epoch,
            "step": trainer.global_step,
            "val_acc": float(trainer.callback_metrics["val_acc"]),
        }
        self.history.append(point)
        if self.reached is None and point["val_acc"] >= self.target:
            self.reached = point
            trainer.should_stop = True


def time_to_accuracy(settings: BenchmarkSettings, save_dir: str) -> dict[str, Any]:
    """Fit the accuracy config from scratch until val_acc >= target (or the epoch cap).

    The clock starts before the CLI builds anything, so it counts data loading, every
    validation and checkpointing: what a user waits for.
    """
    config = resolve_config(settings.accuracy_config, settings.config_dir)
    start = time.perf_counter()
    clock = AccuracyClock(start, settings.target_accuracy)
    args = [
        "--config",
        str(config),
        "--data.data_dir",
        settings.data_dir,
        "--trainer.max_epochs",
        str(settings.accuracy_max_epochs),
        "--trainer.logger.init_args.save_dir",
        save_dir,
        "--trainer.enable_progress_bar",
        str(settings.progress_bar).lower(),
        "--early_stopping.patience",
        str(settings.accuracy_max_epochs),
        *settings.extra_args,
    ]
    if settings.val_check_interval is not None:
        args += ["--trainer.val_check_interval", str(settings.val_check_interval)]
    cli = build_cli(args, [clock])
    cli.trainer.fit(cli.model, datamodule=cli.datamodule)
    return {
        "config": config.stem,
        "target": settings.target_accuracy,
        "reached": clock.reached is not None,
        "seconds": clock.reached["seconds"] if clock.reached else None,
        "epoch": clock.reached["epoch"] if clock.reached else None,
        "step": clock.reached["step"] if clock.reached else None,
        "val_acc": clock.reached["val_acc"] if clock.reached else None,
        "max_epochs": settings.accuracy_max_epochs,
        "val_check_interval": settings.val_check_interval,
        "history": clock.history,
    }


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
    if settings.time_to_accuracy:
        resolve_config(settings.accuracy_config, settings.config_dir)
    if settings.threads is not None:
        torch.set_num_threads(settings.threads)
    device = "cuda" if torch.cuda.is_available() else "cpu"
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
        "time_to_accuracy": None,
    }
    with tempfile.TemporaryDirectory(prefix="rnn-mnist-benchmark-") as save_dir:
        for config in configs:
            report["results"].extend(benchmark_config(config, settings, save_dir, peak, say))
            write_partial_report(
                results_dir, REPORT_STEM, report
            )  # a failure keeps the last report
        if settings.time_to_accuracy:
            say(
                f"fitting {settings.accuracy_config} until val_acc >= "
                f"{settings.target_accuracy} (at most {settings.accuracy_max_epochs} epochs)"
            )
            report["time_to_accuracy"] = time_to_accuracy(settings, save_dir)
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
        f"and round (the arms take turns step by step), median of {s['rounds']} rounds; "
        "validation excluded. (a) hand: a minimal PyTorch loop; (b) Lightning: `rnn-mnist` as "
        "users run it (config, logger, callbacks, progress bar "
        f"{'on' if s['progress_bar'] else 'off'}); (c) bare Lightning: the same network, data "
        "loader and Adam in a minimal LightningModule, Trainer without logger, callbacks or "
        "progress bar. stdout: each config ran in a fresh process with stdout and stderr on a "
        "pseudo-terminal (terminal) or a pipe read as written (pipe).",
        "",
        "| config | model | batch | stdout | hand samples/s | Lightning samples/s "
        "| ratio (b)/(a) | bare Lightning samples/s | ratio (c)/(a) "
        "| hand GFLOP/s (% peak) | Lightning GFLOP/s (% peak) |",
        "|---|---|---:|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in report["results"]:
        hand, light, bare = r["hand"], r["lightning"], r["bare"]
        lines.append(
            f"| {r['config']} | {r['cell']}-{r['hidden_size']} ({r['recurrent_layer']}) "
            f"| {r['batch_size']} | {r['stdout']} | {hand['samples_per_s']:,.0f} "
            f"| {light['samples_per_s']:,.0f} | {r['ratio']:.3f} "
            f"| {bare['samples_per_s']:,.0f} | {r['bare_ratio']:.3f} "
            f"| {hand['gflops']:.1f} ({100 * hand['peak_fraction']:.0f}%) "
            f"| {light['gflops']:.1f} ({100 * light['peak_fraction']:.0f}%) |"
        )
    lines += ["", f"FLOPs: {report['flops_formula']}.", ""]
    tta = report["time_to_accuracy"]
    if tta is not None:
        when = (
            f"every {tta['val_check_interval']} steps"
            if tta["val_check_interval"]
            else "every epoch"
        )
        if tta["reached"]:
            lines.append(
                f"Time to {100 * tta['target']:.0f}% validation accuracy ({tta['config']}, "
                f"validation {when}, clock from start incl. data loading and validation): "
                f"**{tta['seconds']:.0f} s** (after {tta['epoch'] + 1} epochs, step {tta['step']}, "
                f"val_acc {100 * tta['val_acc']:.2f}%)."
            )
        else:
            best = max((p["val_acc"] for p in tta["history"]), default=float("nan"))
            lines.append(
                f"{tta['config']} did not reach {100 * tta['target']:.0f}% validation accuracy "
                f"within {tta['max_epochs']} epochs (best {100 * best:.2f}%)."
            )
        lines.append("")
    return "\n".join(lines)
