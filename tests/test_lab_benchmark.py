"""The benchmark (scripts/benchmark.py on lab.benchmark) on the synthetic fixture: its arms, rounds,
report and checkout comparison (structure and arithmetic, never speed)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from scripts_loader import load_script
from tiny_cli import tiny_args
from torch.utils.flop_counter import FlopCounterMode

from lab import benchmark
from lab.benchmark import (
    BenchmarkSettings,
    build_cli,
    fit_args,
    measure_config,
    round_order,
    run_benchmark,
    summarise,
    time_arm,
    time_bare_lightning,
    time_hand_loop,
    training_flops_per_sample,
)
from lab.command import package_checkout
from lab.configs import resolve_config
from lab.speed import measure_matmul_peak
from lightning_module import SequenceClassifierNet

REPO_ROOT = Path(__file__).resolve().parents[1]
TINY = tuple(tiny_args(None, None, name=None, batch_size=10))  # 200 training images: 20 batches


def tiny_settings(data_dir: Path, **overrides) -> BenchmarkSettings:
    values = dict(
        configs=("rnn",),
        data_dir=str(data_dir),
        steps=3,
        warmup=1,
        rounds=1,
        progress_bar=False,
        extra_args=TINY,
        matmul_size=64,
    )
    return BenchmarkSettings(**{**values, **overrides})


@pytest.mark.parametrize("cell", ["rnn", "gru", "lstm"])
def test_training_flops_are_three_times_the_forward_matmul_flops_that_torch_counts(cell):
    net = SequenceClassifierNet(
        cell, hidden_size=16, num_layers=2, pixels_per_step=16, gru_impl="torch"
    )
    x = torch.rand(3, 28, 28)
    # oneDNN's fused LSTM kernel hides its matmuls from the counter; the generic path shows them
    with torch.backends.mkldnn.flags(enabled=False), FlopCounterMode(display=False) as counter:
        net(x)
    forward_per_sample = counter.get_total_flops() / 3
    assert training_flops_per_sample(cell, 16, 2, 16, 10) == 3 * forward_per_sample


def test_flop_count_refuses_an_unknown_cell():
    with pytest.raises(ValueError, match="cell must be one of"):
        training_flops_per_sample("transformer", 8, 1, 28, 10)


def test_matmul_peak_is_a_positive_rate_and_bad_sizes_are_refused():
    assert measure_matmul_peak(size=64, repeats=2) > 0
    with pytest.raises(ValueError, match="size must be an integer >= 1"):
        measure_matmul_peak(size=0)


def test_the_hand_loop_trains_the_configs_model_and_times_the_steps_after_the_warmup(
    mnist_dir, tmp_path
):
    settings = tiny_settings(mnist_dir)
    cli = build_cli(fit_args(resolve_config("rnn"), settings, tmp_path))
    assert cli.trainer.gradient_clip_val == 1.0  # rnn.yaml clips: the hand loop clips alike
    before = [p.detach().clone() for p in cli.model.parameters()]
    figures = time_hand_loop(cli, warmup=1, steps=3)
    assert figures["batches"] == 1 + 3
    assert figures["samples"] == 3 * 10 and figures["seconds"] > 0
    after = list(cli.model.parameters())
    assert any(not torch.equal(b, p) for b, p in zip(before, after, strict=True))


def test_bare_lightning_times_the_steps_after_the_warmup_and_writes_nothing(mnist_dir, tmp_path):
    settings = tiny_settings(mnist_dir)
    cli = build_cli(fit_args(resolve_config("lstm"), settings, tmp_path))
    figures = time_bare_lightning(cli, warmup=2, steps=3)
    assert figures["batches"] == 2 + 3
    assert figures["samples"] == 3 * 10 and figures["seconds"] > 0
    assert not list(tmp_path.rglob("*.ckpt"))


def test_the_user_arm_is_the_rnn_mnist_command_timed_by_a_callback_given_on_its_command_line(
    mnist_dir, tmp_path
):
    settings = tiny_settings(mnist_dir, warmup=2, steps=4)
    args = fit_args(resolve_config("rnn"), settings, tmp_path)
    report = tmp_path / "user.json"
    rate = time_arm("user", package_checkout(), args, settings, report)
    figures = json.loads(report.read_text())
    assert figures["batches"] == 2 + 4  # one epoch of warmup + steps batches
    assert figures["samples"] == 4 * 10
    assert rate == pytest.approx(figures["samples"] / figures["seconds"])
    assert list(tmp_path.rglob("best.ckpt"))  # the real fit: validated, checkpointed, tested


def test_a_failing_arm_names_itself_its_checkout_and_the_end_of_its_output(mnist_dir, tmp_path):
    settings = tiny_settings(tmp_path / "no-mnist-here")
    args = fit_args(resolve_config("rnn"), settings, tmp_path)
    with pytest.raises(RuntimeError, match=r"the user arm in .* exited with 1") as error:
        time_arm("user", package_checkout(), args, settings, tmp_path / "user.json")
    assert "MNIST" in str(error.value)


def test_the_arms_rotate_from_round_to_round(mnist_dir, tmp_path, monkeypatch):
    assert [round_order(["a", "b", "c"], index) for index in range(4)] == [
        ["a", "b", "c"],
        ["b", "c", "a"],
        ["c", "a", "b"],
        ["a", "b", "c"],
    ]
    calls: list[str] = []

    def fake_arm(kind, checkout, args, settings, report):
        calls.append(kind)
        return {"hand": 200.0, "user": 100.0, "bare": 150.0}[kind]

    monkeypatch.setattr(benchmark, "time_arm", fake_arm)
    rates = measure_config(
        resolve_config("rnn"), tiny_settings(mnist_dir, rounds=2), tmp_path, lambda m: None
    )
    assert calls == ["hand", "user", "bare", "user", "bare", "hand"]
    assert rates == {"hand": [200.0, 200.0], "user": [100.0, 100.0], "bare": [150.0, 150.0]}


def test_ratios_and_added_milliseconds_are_per_round_against_the_first_arm():
    # batch 10: the reference at 200 samples/s is 50 ms a step; an arm at 100 samples/s is
    # 100 ms a step, so it adds 50 ms and runs at ratio 0.5
    rates = {"hand": [200.0, 100.0, 100.0], "user": [100.0, 50.0, 80.0], "bare": [200.0] * 3}
    info = {"batch_size": 10, "training_flops_per_sample": 1e9}
    row = summarise(info, rates, peak=400.0)
    assert row["reference"] == "hand"
    hand, user, bare = (row["arms"][arm] for arm in ("hand", "user", "bare"))
    assert "ratio" not in hand
    assert hand["samples_per_s"] == 100.0 and hand["ms_per_step"] == pytest.approx(100.0)
    assert hand["gflops"] == 100.0 and hand["peak_fraction"] == 0.25
    assert user["ratio_per_round"] == pytest.approx([0.5, 0.5, 0.8])
    assert user["ratio"] == pytest.approx(0.5)
    assert user["added_ms_per_step_per_round"] == pytest.approx([50.0, 100.0, 25.0])
    assert user["added_ms_per_step"] == pytest.approx(50.0)
    assert bare["ratio"] == pytest.approx(2.0)
    assert bare["added_ms_per_step"] == pytest.approx(-50.0)  # faster than the reference


def test_the_benchmark_runs_each_arm_in_its_own_process_and_writes_both_reports(
    mnist_dir, tmp_path
):
    messages: list[str] = []
    results = tmp_path / "results"
    report = run_benchmark(tiny_settings(mnist_dir), results, "test-command", messages.append)
    written = json.loads((results / "benchmark.json").read_text())
    assert written == json.loads(json.dumps(report))
    assert written["checkouts"] == dict.fromkeys(("hand", "user", "bare"), str(REPO_ROOT))
    assert written["matmul_peak"]["gflops"] > 0
    (row,) = written["results"]
    assert row["config"] == "rnn" and row["reference"] == "hand"
    assert row["training_flops_per_sample"] == training_flops_per_sample("rnn", 8, 1, 28, 10)
    for arm in ("hand", "user", "bare"):
        figures = row["arms"][arm]
        assert len(figures["samples_per_s_per_round"]) == 1 and figures["samples_per_s"] > 0
    table = (results / "benchmark.md").read_text()
    assert "test-command" in table and "Lightning vs a hand-written loop" in table
    user, bare = row["arms"]["user"], row["arms"]["bare"]
    cells = (
        f"| rnn | rnn-8 (RNN) | 10 | {row['arms']['hand']['samples_per_s']:,.0f} "
        f"| {user['samples_per_s']:,.0f} | {user['ratio']:.3f} | {user['added_ms_per_step']:.2f} "
        f"| {bare['samples_per_s']:,.0f} | {bare['ratio']:.3f} | {bare['added_ms_per_step']:.2f} |"
    )
    assert cells in table
    assert any(message.startswith("rnn: hand ") for message in messages)  # the figures, printed
    assert sorted(path.name for path in results.iterdir()) == ["benchmark.json", "benchmark.md"]


def test_the_script_compares_two_checkouts_user_paths_round_by_round(mnist_dir, tmp_path, capsys):
    results = tmp_path / "results"
    code = load_script("benchmark").main(
        [
            *("rnn", "--compare-with", str(REPO_ROOT), "--data-dir", str(mnist_dir)),
            *("--steps", "3", "--warmup", "1", "--rounds", "2", "--no-progress-bar"),
            *("--results-dir", str(results), "--", *TINY),
        ]
    )
    assert code == 0
    # its own report: the main benchmark's stays as it was
    assert sorted(path.name for path in results.iterdir()) == [
        "benchmark_compare.json",
        "benchmark_compare.md",
    ]
    written = json.loads((results / "benchmark_compare.json").read_text())
    assert written["checkouts"] == {"other": str(REPO_ROOT), "this": str(REPO_ROOT)}
    (row,) = written["results"]
    assert row["reference"] == "other"
    this, other = row["arms"]["this"], row["arms"]["other"]
    assert len(this["samples_per_s_per_round"]) == len(other["samples_per_s_per_round"]) == 2
    pairs = zip(this["samples_per_s_per_round"], other["samples_per_s_per_round"], strict=True)
    ratios = [mine / theirs for mine, theirs in pairs]
    assert this["ratio"] == pytest.approx(sum(ratios) / 2)  # the median of two rounds
    table = (results / "benchmark_compare.md").read_text()
    assert "two checkouts' `rnn-mnist fit`" in table
    assert (
        f"| {other['samples_per_s']:,.0f} | {this['samples_per_s']:,.0f} | {this['ratio']:.3f} |"
        in table
    )
    out = capsys.readouterr().out
    assert "rnn round 2/2: other " in out and f"(x{this['ratio']:.3f} of other)" in out


def test_a_timed_window_longer_than_one_epoch_is_refused_before_any_round(mnist_dir, tmp_path):
    settings = tiny_settings(mnist_dir, steps=50)  # 200 images / batch 10 = 20 batches
    with pytest.raises(ValueError, match="exceeds the 20 training batches of one epoch"):
        run_benchmark(settings, tmp_path, "cmd", say=lambda message: None)
    assert not (tmp_path / "benchmark.json").exists()


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("steps", 0, "steps must be an integer >= 1"),
        ("warmup", -1, "warmup must be an integer >= 0"),
        ("threads", 0, "threads must be None or an integer >= 1"),
        ("configs", (), "configs must name at least one config"),
        ("compare_with", "/", "is not a checkout of this repository"),
    ],
)
def test_bad_settings_are_refused_naming_the_setting(field, value, message, tmp_path):
    with pytest.raises(ValueError, match=message):
        run_benchmark(BenchmarkSettings(**{field: value}), tmp_path, "cmd")


def test_the_script_reports_an_unknown_config_and_exits_2(capsys, tmp_path):
    script = load_script("benchmark")
    assert script.main(["no-such-config", "--results-dir", str(tmp_path)]) == 2
    assert "config 'no-such-config' not found" in capsys.readouterr().err
