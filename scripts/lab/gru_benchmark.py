"""Training throughput of nn.LSTM, nn.GRU and FusedGRU on sequential MNIST shapes (CPU).

One training step = forward of the recurrent layer and a linear head on the last hidden state,
cross-entropy, backward, Adam step, on in-memory random data of MNIST's shape (rows as time
steps: T = 28 steps of D = 28 pixels, or any D = ``pixels_per_step`` dividing 784).
A name ending in ``_bf16`` (``lstm_bf16``, ``fused_gru_cpp_bf16``) is the step of the model
without the suffix with its forward under bfloat16 autocast, as ``--trainer.precision
bf16-mixed`` trains; the table compares each model with ``lstm`` at the same precision. The
models take turns step by step (the order rotates every round) so that load from other
processes hits all of them alike; the figure per model comes from the median step time, and the
spread of the per-round averages is the noise.
``scripts/bench_gru.py`` is the command.

Shapes: N batch, T steps, D input features, H hidden units, C classes.
"""

from __future__ import annotations

import statistics
import time

import torch
from torch import nn

from lightning_module.gru.fused_gru import FusedGRU
from lightning_module.network import IMAGE_PIXELS, IMAGE_SIDE

N_CLASSES = 10
# fused_gru_cpp is what gru_impl "auto"/"fused" trains with on CPU (fused_gru_cpp_bf16: the same
# under bf16-mixed, against lstm_bf16); fused_gru_python is its fallback where the C++
# recurrence can't be built
MODEL_NAMES = (
    "lstm", "lstm_bf16", "gru", "fused_gru_cpp", "fused_gru_cpp_bf16", "fused_gru_python"
)  # fmt: skip
BF16_SUFFIX = "_bf16"


def build_model(name: str, hidden: int, inputs: int = IMAGE_SIDE) -> nn.Module:
    """The recurrent layer called ``name`` (one of MODEL_NAMES), batch-first, D = ``inputs``
    -> hidden."""
    name = name.removesuffix(BF16_SUFFIX)
    if name.startswith("fused_gru_"):
        recurrence = name.removeprefix("fused_gru_")
        return FusedGRU(inputs, hidden, batch_first=True, recurrence=recurrence)
    return {"lstm": nn.LSTM, "gru": nn.GRU}[name](inputs, hidden, batch_first=True)


class Trainee:
    """A recurrent layer + linear head + Adam, stepped on a fixed list of batches."""

    def __init__(self, name: str, hidden: int, batches: list[tuple[torch.Tensor, torch.Tensor]]):
        self.rnn = build_model(name, hidden, inputs=batches[0][0].shape[-1])
        self.autocast = name.endswith(BF16_SUFFIX)
        self.head = nn.Linear(hidden, N_CLASSES)
        self.optimizer = torch.optim.Adam([*self.rnn.parameters(), *self.head.parameters()])
        self.batches = batches
        self.next_batch = 0

    def step(self) -> tuple[float, float]:
        """One training step; returns (forward seconds, backward + Adam seconds)."""
        x, y = self.batches[self.next_batch]
        self.next_batch = (self.next_batch + 1) % len(self.batches)
        start = time.perf_counter()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.autocast):
            output, _ = self.rnn(x)
            loss = nn.functional.cross_entropy(self.head(output[:, -1]), y)
        forward_done = time.perf_counter()
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        return forward_done - start, time.perf_counter() - forward_done


def random_batches(
    count: int, batch: int, seed: int, pixels_per_step: int = IMAGE_SIDE
) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """``count`` batches of (N, T, D) uniform pixels in [0, 1), D = ``pixels_per_step`` and
    T = 784 / D, and (N,) labels in 0..C-1."""
    generator = torch.Generator().manual_seed(seed)
    steps = IMAGE_PIXELS // pixels_per_step
    return [
        (
            torch.rand(batch, steps, pixels_per_step, generator=generator),
            torch.randint(0, N_CLASSES, (batch,), generator=generator),
        )
        for _ in range(count)
    ]


def benchmark(
    models: list[str],
    hidden: int,
    batch: int,
    rounds: int,
    steps: int,
    warmup: int,
    pixels_per_step: int = IMAGE_SIDE,
) -> dict:
    """``rounds`` x ``steps`` timed training steps per model, interleaved step by step.

    The models take turns every step (the order rotates every round), so a burst of load from
    other processes lands on all of them alike; samples/s is ``batch`` / the median step time
    over all timed steps, and the per-round figures give the spread.
    """
    torch.manual_seed(0)
    batches = random_batches(8, batch, seed=0, pixels_per_step=pixels_per_step)
    trainees = {name: Trainee(name, hidden, batches) for name in models}
    for trainee in trainees.values():
        for _ in range(warmup):
            trainee.step()
    times: dict[str, list[list[tuple[float, float]]]] = {name: [] for name in models}
    for round_index in range(rounds):
        shift = round_index % len(models)
        order = models[shift:] + models[:shift]
        for name in models:
            times[name].append([])
        for _ in range(steps):
            for name in order:
                times[name][-1].append(trainees[name].step())
        summary = "  ".join(
            f"{n} {batch * steps / sum(f + b for f, b in times[n][-1]):7.0f}/s" for n in models
        )
        print(f"round {round_index + 1}/{rounds}: {summary}", flush=True)
    results = {}
    for name, per_round in times.items():
        all_steps = [step for round_steps in per_round for step in round_steps]
        rates = [batch * len(r) / sum(f + b for f, b in r) for r in per_round]
        results[name] = {
            "samples_per_s_median": batch / statistics.median(f + b for f, b in all_steps),
            "samples_per_s_min": min(rates),
            "samples_per_s_max": max(rates),
            "forward_ms_median": 1e3 * statistics.median(f for f, _ in all_steps),
            "backward_and_adam_ms_median": 1e3 * statistics.median(b for _, b in all_steps),
            "samples_per_s_per_round": rates,
        }
    return results


def reference_for(name: str, results: dict) -> str | None:
    """The LSTM that ``name`` is compared with: ``lstm`` at the same precision where it was
    measured, else ``lstm``, else None."""
    for candidate in (("lstm" + BF16_SUFFIX) if name.endswith(BF16_SUFFIX) else "lstm", "lstm"):
        if candidate in results:
            return candidate
    return None


def markdown_table(results: dict, settings: dict) -> str:
    pixels = settings.get("pixels_per_step", IMAGE_SIDE)
    environment = settings["environment"]
    lines = [
        f"Training samples/s, hidden {settings['hidden']}, batch {settings['batch']}, "
        f"T={IMAGE_PIXELS // pixels}, D={pixels}, Adam, "
        f"{environment['torch_threads']} threads, "
        f"torch {environment['torch']}, CPU {environment.get('cpu_model') or 'unknown'}; "
        f"{settings['rounds']} rounds x {settings['steps']} steps per model, "
        f"interleaved step by step; samples/s from the median step time (min-max: round "
        f"averages). vs lstm: against the LSTM at the same precision (lstm_bf16 for a _bf16 "
        f"model where measured), from the medians, and its min-max over rounds (each round's "
        f"two averages share that round's load).",
        "",
        f"Command: `{settings.get('command', '-')}`",
        "",
        "| model | samples/s | min-max | forward ms | backward+Adam ms | vs lstm | min-max |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, r in results.items():
        reference = reference_for(name, results)
        ratio = spread = "-"
        if reference is not None:
            ref = results[reference]
            ratio = f"{r['samples_per_s_median'] / ref['samples_per_s_median']:.2f}"
            per_round = [
                own / theirs
                for own, theirs in zip(
                    r["samples_per_s_per_round"], ref["samples_per_s_per_round"], strict=True
                )
            ]
            spread = f"{min(per_round):.2f}-{max(per_round):.2f}"
        lines.append(
            f"| {name}-{settings['hidden']} | {r['samples_per_s_median']:.0f} | "
            f"{r['samples_per_s_min']:.0f}-{r['samples_per_s_max']:.0f} | "
            f"{r['forward_ms_median']:.2f} | {r['backward_and_adam_ms_median']:.2f} | "
            f"{ratio} | {spread} |"
        )
    return "\n".join(lines) + "\n"


def profile_builtin_rnns(hidden: int, batch: int) -> None:
    """Print where nn.LSTM and nn.GRU spend forward and backward time, and oneDNN's share."""
    from torch.profiler import ProfilerActivity, profile

    x, y = random_batches(1, batch, seed=0)[0]
    for name in ("lstm", "gru"):
        rnn, head = build_model(name, hidden), nn.Linear(hidden, N_CLASSES)
        # one untimed step first: oneDNN builds its LSTM primitives on the first call
        nn.functional.cross_entropy(head(rnn(x)[0][:, -1]), y).backward()
        for phase in ("forward", "backward"):
            with profile(activities=[ProfilerActivity.CPU]) as forward_prof:
                output, _ = rnn(x)
                loss = nn.functional.cross_entropy(head(output[:, -1]), y)
            with profile(activities=[ProfilerActivity.CPU]) as backward_prof:
                loss.backward()
            prof = forward_prof if phase == "forward" else backward_prof
            print(f"\n=== nn.{name.upper()}-{hidden} {phase} (one batch of {batch}) ===")
            print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=8))
    print("\n=== samples/s with oneDNN (mkldnn) on and off ===")
    for enabled in (True, False):
        with torch.backends.mkldnn.flags(enabled=enabled):
            results = benchmark(["lstm", "gru"], hidden, batch, rounds=3, steps=10, warmup=2)
        rates = {n: round(r["samples_per_s_median"]) for n, r in results.items()}
        print(f"mkldnn enabled={enabled}: {rates}")
