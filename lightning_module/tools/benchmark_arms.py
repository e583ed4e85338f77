"""The benchmark's three arms and the callback that steps them in turn.

Shape legend: N_train training images, N batch.

(a) ``HandLoop``: a minimal PyTorch loop over in-memory tensors: shuffled batches by
    ``index_select``, the config's network (a copy of the ``SequenceClassifierNet`` the CLI
    builds) on batches shifted as the config's ``augment_shift`` says, cross-entropy plus the
    config's L2 term, ``clip_grad_norm_`` when the config clips, Adam. No metrics, no logging.
(b) ``run_round``: the user's path: ``RecurrentClassifier`` + ``MNISTDataModule`` built by the
    ``rnn-mnist`` CLI from the same config, with the users' logger, callbacks and progress bar,
    trained by ``Trainer.fit``.
(c) ``run_bare_round``: Lightning's own loop at its leanest: the same network, loss, Adam and
    data loader in a LightningModule of a few lines (``BareClassifier``), fit by a Trainer with
    no logger, callbacks, checkpointing or progress bar.

In (b) and (c), ``InterleavedStepTimer`` runs one step of (a) after every Lightning step, so
bursts of load from other processes on a shared machine hit the arms alike.
"""

from __future__ import annotations

import copy
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import pytorch_lightning as pl
import torch
import torch.nn.functional as F
from pytorch_lightning.callbacks import Callback

from lightning_module.augment import random_shift
from lightning_module.cli import run_cli
from lightning_module.network import SequenceClassifierNet
from lightning_module.tools.speed import synchronized_now


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
