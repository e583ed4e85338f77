"""The Lightning-vs-hand-loop benchmark on the synthetic fixture (structure, never speed), and the
Lightning hot-path fix it measures (training metrics summed on the device, logged per epoch)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from scripts_loader import CONFIG_DIR, load_script
from tiny_cli import tiny_args
from torch.utils.flop_counter import FlopCounterMode

from lightning_module import RecurrentClassifier, SequenceClassifierNet
from lightning_module.model import TRAIN_METRICS
from lightning_module.tools import benchmark
from lightning_module.tools.benchmark import (
    BenchmarkSettings,
    added_ms_per_step,
    measure_rounds,
    round_order,
    run_benchmark,
    run_worker,
    summarise_rounds,
    training_flops_per_sample,
)
from lightning_module.tools.benchmark_arms import (
    build_cli,
    cli_args,
    make_hand_loop,
    run_bare_round,
    run_round,
)
from lightning_module.tools.reproduce import resolve_config
from lightning_module.tools.speed import measure_matmul_peak

REPO_ROOT = Path(__file__).resolve().parents[1]
TINY = tuple(tiny_args(None, None, name=None, batch_size=10))


def tiny_settings(data_dir: Path, **overrides) -> BenchmarkSettings:
    values = dict(
        configs=("rnn", "lstm"),
        config_dir=str(CONFIG_DIR),
        data_dir=str(data_dir),
        steps=3,
        warmup=1,
        rounds=2,
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


def test_hand_loop_trains_a_copy_of_the_cli_network_with_the_configs_loss_and_clipping(
    mnist_dir, tmp_path
):
    cli = build_cli(
        cli_args(
            resolve_config("rnn", CONFIG_DIR), str(mnist_dir), str(tmp_path), 5, False, list(TINY)
        )
    )
    hand = make_hand_loop(cli)
    assert hand.net is not cli.model.net
    assert type(hand.net.rnn) is type(cli.model.net.rnn)
    for name, value in cli.model.net.state_dict().items():
        assert torch.equal(hand.net.state_dict()[name].cpu(), value.cpu()), name
    assert (hand.batch_size, hand.lr, hand.l2_lambda) == (10, 0.001, 0.001)
    assert hand.clip_norm == 1.0  # rnn.yaml clips gradients at norm 1
    assert hand.augment_shift == cli.model.hparams.augment_shift == 2  # the same input shifts
    assert len(hand.labels) == 200  # 300 synthetic training images minus val_size 100
    before = [p.detach().clone() for p in hand.net.parameters()]
    assert hand.step() == 10
    assert any(not torch.equal(b, p) for b, p in zip(before, hand.net.parameters(), strict=True))


def test_a_round_times_the_same_number_of_steps_of_each_arm(mnist_dir, tmp_path):
    args = cli_args(
        resolve_config("lstm", CONFIG_DIR), str(mnist_dir), str(tmp_path), 2 + 4, False, list(TINY)
    )
    hand = make_hand_loop(build_cli(args))
    position = hand.position
    rates = run_round(args, warmup=2, steps=4, hand=hand)
    assert set(rates) == {"hand", "lightning"}
    assert all(rate > 0 for rate in rates.values())
    assert hand.position - position == (2 + 4) * 10  # warm-up and timed hand steps, in turn


def test_a_bare_round_times_lightnings_own_loop_against_the_same_hand_steps(mnist_dir, tmp_path):
    args = cli_args(
        resolve_config("rnn", CONFIG_DIR), str(mnist_dir), str(tmp_path), 2 + 4, False, list(TINY)
    )
    reference = build_cli(args)
    hand = make_hand_loop(reference)
    position = hand.position
    rates = run_bare_round(reference, str(tmp_path), warmup=2, steps=4, hand=hand)
    assert set(rates) == {"hand", "lightning"}
    assert all(rate > 0 for rate in rates.values())
    assert hand.position - position == (2 + 4) * 10
    assert not list(tmp_path.rglob("*.ckpt"))  # the bare trainer writes nothing


def test_benchmark_writes_a_row_per_config_and_stdout_from_processes_on_a_terminal_and_a_pipe(
    mnist_dir, tmp_path
):
    settings = tiny_settings(mnist_dir, configs=("rnn",))
    messages: list[str] = []
    report = run_benchmark(settings, tmp_path / "results", "test-command", say=messages.append)
    written = json.loads((tmp_path / "results" / "benchmark.json").read_text())
    assert written == json.loads(json.dumps(report))
    assert [(row["config"], row["stdout"]) for row in written["results"]] == [
        ("rnn", "terminal"),
        ("rnn", "pipe"),
    ]
    assert written["matmul_peak"]["gflops"] > 0
    for row in written["results"]:
        # the worker saw the stdout it was given: a terminal, or not
        assert row["stdout_isatty"] is (row["stdout"] == "terminal")
        assert row["training_flops_per_sample"] == training_flops_per_sample("rnn", 8, 1, 28, 10)
        for arm in ("hand", "lightning", "bare"):
            figures = row[arm]
            assert len(figures["samples_per_s_per_round"]) == 2
            assert figures["samples_per_s"] > 0
            assert figures["gflops"] == pytest.approx(
                figures["samples_per_s"] * row["training_flops_per_sample"] / 1e9
            )
            assert figures["peak_fraction"] == pytest.approx(
                figures["gflops"] / written["matmul_peak"]["gflops"]
            )
        for ratio in ("ratio", "bare_ratio"):
            per_round = row[f"{ratio}_per_round"]
            assert len(per_round) == 2 and all(value > 0 for value in per_round)
            assert row[ratio] == pytest.approx(sum(per_round) / 2)  # the median of two
        assert row["hand"]["ms_per_step"] > 0
        assert len(row["lightning"]["added_ms_per_step_per_round"]) == 2
    table = (tmp_path / "results" / "benchmark.md").read_text()
    assert "test-command" in table
    assert "the two Lightning fits swap places every round" in table
    assert "(b) adds ms/step" in table and "(c) adds ms/step" in table
    for row in written["results"]:
        hand, light, bare = row["hand"], row["lightning"], row["bare"]
        cells = (
            f"| {hand['ms_per_step']:.2f} | {light['samples_per_s']:,.0f} | {row['ratio']:.3f} "
            f"| {light['added_ms_per_step']:.2f} | {bare['samples_per_s']:,.0f} "
            f"| {row['bare_ratio']:.3f} | {bare['added_ms_per_step']:.2f} |"
        )
        assert cells in table
    assert "| rnn | rnn-8 (RNN) | 10 | terminal |" in table
    assert "| rnn | rnn-8 (RNN) | 10 | pipe |" in table
    assert any("rnn (pipe)" in message for message in messages)
    assert not list((tmp_path / "results").glob("*.tmp"))
    assert not (tmp_path / "results" / "benchmark.partial.json").exists()  # done: dropped


def test_the_added_time_per_step_is_the_lightning_step_minus_the_hand_step_timed_with_it():
    # batch 10: Lightning at 100 samples/s is 100 ms a step; at ratio 0.5 its hand steps ran at
    # 200 samples/s, 50 ms a step, so Lightning added 50 ms
    assert added_ms_per_step(10, [100.0, 50.0], [0.5, 1.0]) == pytest.approx([50.0, 0.0])
    rounds = {
        "hand": [200.0, 100.0, 150.0],
        "lightning": [100.0, 50.0, 100.0],
        "bare": [150.0, 80.0, 100.0],
        "lightning_ratio": [0.5, 0.5, 0.8],
        "bare_ratio": [0.75, 0.8, 0.5],
    }
    info = {"batch_size": 10, "training_flops_per_sample": 1}
    row = summarise_rounds(info, rounds, peak=1.0)
    assert row["hand"]["ms_per_step"] == pytest.approx(1000 * 10 / 150.0)
    assert row["lightning"]["added_ms_per_step_per_round"] == pytest.approx([50.0, 100.0, 20.0])
    assert row["lightning"]["added_ms_per_step"] == pytest.approx(50.0)
    assert row["bare"]["added_ms_per_step"] == pytest.approx(25.0)  # of 16.7, 25, 50


def test_the_two_lightning_fits_swap_places_every_round(mnist_dir, tmp_path, monkeypatch):
    assert [round_order(index) for index in range(3)] == [
        ("lightning", "bare"),
        ("bare", "lightning"),
        ("lightning", "bare"),
    ]
    calls: list[str] = []

    def fake_round(name):
        def fit(*args, **kwargs):
            calls.append(name)
            return {"hand": 2.0, "lightning": 1.0}

        return fit

    monkeypatch.setattr(benchmark, "run_round", fake_round("lightning"))
    monkeypatch.setattr(benchmark, "run_bare_round", fake_round("bare"))
    settings = tiny_settings(mnist_dir, rounds=3)
    rounds = measure_rounds(resolve_config("rnn", CONFIG_DIR), settings, str(tmp_path))
    assert calls == ["lightning", "bare", "bare", "lightning", "lightning", "bare"]
    assert rounds["lightning_ratio"] == rounds["bare_ratio"] == [0.5, 0.5, 0.5]


def test_threads_reach_each_configs_process(mnist_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "2")  # what the worker must not inherit
    threads = 1  # below torch's default on any machine with two or more cores
    settings = tiny_settings(
        mnist_dir, configs=("rnn",), stdout=("pipe",), rounds=1, threads=threads
    )
    before = torch.get_num_threads()  # run_benchmark sets this process's threads too
    try:
        (row,) = run_benchmark(settings, tmp_path, "cmd", say=lambda message: None)["results"]
    finally:
        torch.set_num_threads(before)
    assert row["torch_threads"] == threads


def test_a_data_dir_relative_to_the_callers_folder_reaches_the_worker(
    mnist_dir, tmp_path, monkeypatch
):
    monkeypatch.chdir(mnist_dir.parent)
    settings = tiny_settings(Path(mnist_dir.name), configs=("rnn",), stdout=("pipe",), rounds=1)
    measured = run_worker(resolve_config("rnn", CONFIG_DIR), settings, str(tmp_path), "pipe")
    assert len(measured["rounds"]["hand"]) == 1


def test_a_failing_worker_names_the_config_and_stdout(tmp_path):
    broken = tiny_settings(tmp_path / "no-mnist-here", configs=("rnn",), stdout=("pipe",))
    with pytest.raises(RuntimeError, match=r"benchmark process for rnn \(pipe\) exited with 1"):
        run_worker(resolve_config("rnn", CONFIG_DIR), broken, str(tmp_path), "pipe")


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
        ("stdout", ("file",), "stdout must be one of"),
        ("stdout", (), "stdout must name at least one of"),
        ("threads", 0, "threads must be None or an integer >= 1"),
    ],
)
def test_bad_settings_are_refused_naming_the_setting(field, value, message, tmp_path):
    with pytest.raises(ValueError, match=message):
        run_benchmark(BenchmarkSettings(**{field: value}), tmp_path, "cmd")


def test_the_script_reports_an_unknown_config_and_exits_2(capsys, tmp_path):
    script = load_script("benchmark")
    assert script.main(["no-such-config", "--results-dir", str(tmp_path)]) == 2
    assert "config 'no-such-config' not found" in capsys.readouterr().err


# --- the hot-path fix: no self.log in the training step ----------------------------------------


class LoggedValues:
    def __init__(self, model: RecurrentClassifier) -> None:
        self.calls: list[tuple[str, torch.Tensor, dict]] = []
        model.log = lambda name, value, **options: self.calls.append((name, value, options))


def test_training_metrics_are_logged_once_per_epoch_as_the_batch_weighted_means():
    torch.manual_seed(0)
    model = RecurrentClassifier(cell="lstm", hidden_size=6, l2_lambda=0.01)
    logged = LoggedValues(model)
    batches = [(torch.rand(n, 28, 28), torch.randint(0, 10, (n,))) for n in (6, 4)]
    model.on_train_epoch_start()
    losses = [model.training_step(batch, i) for i, batch in enumerate(batches)]
    assert logged.calls == []  # nothing logged per step
    model.on_train_epoch_end()
    values = {name: value for name, value, _ in logged.calls}
    assert list(values) == list(TRAIN_METRICS)
    with torch.no_grad():
        logits = [model(x) for x, _ in batches]
        data = [F.cross_entropy(z, y) for z, (_, y) in zip(logits, batches, strict=True)]
        correct = sum((z.argmax(1) == y).sum() for z, (_, y) in zip(logits, batches, strict=True))
    l2 = 0.01 * 0.5 * model.net.head.weight.detach().pow(2).sum()
    torch.testing.assert_close(values["train_loss"], (6 * losses[0] + 4 * losses[1]).detach() / 10)
    torch.testing.assert_close(values["train_data_loss"], (6 * data[0] + 4 * data[1]) / 10)
    torch.testing.assert_close(values["train_l2"], l2)
    torch.testing.assert_close(values["train_acc"], correct.float() / 10)
    for _, _, options in logged.calls:
        assert options == {"on_step": False, "on_epoch": True, "sync_dist": True, "batch_size": 10}


def test_a_new_training_epoch_starts_its_sums_from_zero():
    model = RecurrentClassifier(hidden_size=4)
    logged = LoggedValues(model)
    x, y = torch.rand(5, 28, 28), torch.randint(0, 10, (5,))
    model.on_train_epoch_start()
    model.training_step((torch.rand(7, 28, 28), torch.randint(0, 10, (7,))), 0)
    model.on_train_epoch_end()
    model.on_train_epoch_start()
    loss = model.training_step((x, y), 0)
    model.on_train_epoch_end()
    second = {name: (value, options) for name, value, options in logged.calls[len(TRAIN_METRICS) :]}
    torch.testing.assert_close(second["train_loss"][0], loss.detach())
    assert second["train_loss"][1]["batch_size"] == 5


def test_the_cli_flushes_float32_denormals_to_zero_so_long_bptt_stays_fast(mnist_dir, tmp_path):
    def flushed() -> bool:
        return torch.tensor([1e-39]).mul(1.0).item() == 0.0  # 1e-39 is a float32 denormal

    torch.set_flush_denormal(False)
    assert not flushed()
    try:
        build_cli(
            cli_args(
                resolve_config("lstm", CONFIG_DIR),
                str(mnist_dir),
                str(tmp_path),
                1,
                False,
                list(TINY),
            )
        )
        assert flushed()
    finally:
        torch.set_flush_denormal(False)


def test_measure_memory_reports_each_bptt_window_from_a_fresh_process(tmp_path):
    done = subprocess.run(
        [
            sys.executable,
            str(REPO_ROOT / "scripts" / "measure_memory.py"),
            "--hidden",
            "4",
            "--batch",
            "2",
            "--steps",
            "1",
            "--tbptt",
            "28",
            "--threads",
            "1",
            "--results-dir",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads((tmp_path / "memory.json").read_text())
    assert [(row["mode"], row["tbptt_steps"]) for row in report["rows"]] == [
        ("step", None),
        ("step", 28),
    ]
    for row in report["rows"]:
        assert 0 < row["torch_import_mb"] <= row["before_mb"] <= row["peak_mb"]
        assert len(row["step_seconds"]) == 1
    assert "| training step | k = 28 |" in (tmp_path / "memory.md").read_text()
