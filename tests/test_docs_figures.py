"""The figures the README and docs give for the recipes and the before/after benchmark are the
ones in the committed reports of results/ (rewrite both together, or this fails)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]


def report(stem: str) -> dict:
    return json.loads((ROOT / "results" / f"{stem}.json").read_text())


def percent(value: float) -> str:
    return f"{100 * value:.2f}%"


def test_the_readme_gives_fast_yamls_seeds_as_time_to_accuracy_measured_them():
    (summary,) = report("time_to_accuracy")["summary"]
    runs = report("time_to_accuracy")["runs"]
    default = next(run for run in runs if run["seed"] == "default")
    assert [run["seed"] for run in runs] == ["default", *range(10)]
    readme = " ".join((ROOT / "README.md").read_text().split())
    assert f"{percent(default['test_acc'])} on the default seed" in readme
    assert f"{percent(summary['min_test_acc'])} / {percent(summary['median_test_acc'])}" in readme
    assert f"median of {summary['median_wall_s']:.1f} s" in readme
    assert summary["below_99"] == 0  # "reaches 99% on every seed run"


def table_row(text: str, marker: str) -> dict[str, str]:
    """The markdown table row of ``text`` that contains ``marker``, as {header: cell}."""
    lines = text.splitlines()
    index = next((i for i, line in enumerate(lines) if marker in line), None)
    assert index is not None, f"no table row mentions {marker}"
    header = index
    while header > 0 and lines[header - 1].startswith("|"):
        header -= 1

    def cells(line: str) -> list[str]:
        return [cell.strip(" *") for cell in line.strip().strip("|").split("|")]

    return dict(zip(cells(lines[header]), cells(lines[index]), strict=True))


@pytest.mark.parametrize(
    "stem",
    [
        "fast_e5_val5k",
        "fast_e7_val5k",
        "fast_e5_val1k",
        "fast_e7_val1k",
        "fast_p56_e7_t1",
        "fast_p112_e7",
        "fast_p112_e9",
    ],
)
def test_the_recipe_sweep_tables_are_the_sweeps_reports(stem):
    (summary,) = report(stem)["summary"]
    row = table_row((ROOT / "docs" / "recipes.md").read_text(), f"[`{stem}`]")
    scores = f"{percent(summary['min_test_acc'])} / {percent(summary['median_test_acc'])}"
    assert row["test acc min / median"] == scores
    assert row["seeds"] == str(summary["seeds"])
    assert row["below 99%"] == str(summary["below_99"])
    assert row["epochs"] == f"{summary['median_epochs']:.0f}"
    if "wall (1 thread, shared)" in row:  # the rows-per-step table gives each run's range
        walls = [run["wall_s"] for run in report(stem)["runs"]]
        assert row["wall (1 thread, shared)"] == f"{min(walls):.1f}-{max(walls):.1f} s"


def test_the_before_after_table_is_the_compare_report():
    performance = (ROOT / "docs" / "performance.md").read_text()
    results = report("benchmark_compare")["results"]
    assert results
    for row in results:
        other, this = row["arms"]["other"], row["arms"]["this"]
        start = f"| {row['config']} ("
        line = next((line for line in performance.splitlines() if line.startswith(start)), None)
        assert line is not None, f"performance.md has no row starting {start!r}"
        rates = f"| {other['samples_per_s']:,.0f} | {this['samples_per_s']:,.0f} "
        assert f"{rates}| {this['ratio']:.3f} (" in line


def test_the_rnn_seed_table_is_the_rnn_seeds_report():
    recipes = (ROOT / "docs" / "recipes.md").read_text()
    runs = report("rnn_seeds")["runs"]
    assert runs
    for run in runs:
        assert f"| {run['seed']} | {run['epochs']} | {percent(run['test_acc'])} |" in recipes


def test_the_one_thread_rerun_table_is_its_report_and_the_shipped_runs():
    recipes = (ROOT / "docs" / "recipes.md").read_text().splitlines()
    rerun, shipped = report("reproduce_threads1"), report("reproduce_48666b2")
    assert rerun["environment"]["torch_threads"] == 1
    assert rerun["command"] == shipped["command"]
    for again, before in zip(rerun["runs"], shipped["runs"], strict=True):
        row = f"| {again['config']} | {again['epochs']} ({again['best_epoch']}) | "
        line = next((line for line in recipes if line.startswith(row)), None)
        assert line is not None, f"recipes.md has no row starting {row!r}"
        assert line.endswith(f"| {percent(before['test_acc'])} | {percent(again['test_acc'])} |")
        for key in ("epochs", "best_epoch", "best_val_loss", "test_acc", "test_loss"):
            assert again[key] == before[key], (again["config"], key)


def test_the_same_training_claims_are_the_reports():
    recipes = " ".join((ROOT / "docs" / "recipes.md").read_text().split())
    full = report("same_training_rnn_full")
    assert full["identical"] and full["threads"] == 1
    (test_acc,) = {run["test_acc"] for run in full["runs"]}
    assert (
        f"**identical** weights after {full['runs'][0]['epoch'] + 1} epochs, both at "
        f"{percent(test_acc)}" in recipes
    )
    assert report("same_training")["identical"]


def cards() -> dict:
    path = ROOT / "lightning_module" / "pretrained" / "cards.json"
    return json.loads(path.read_text())["models"]


def test_the_readme_results_table_and_command_are_the_reproduce_report():
    readme = (ROOT / "README.md").read_text()
    table = (ROOT / "results" / "reproduce.md").read_text().splitlines()
    rows = [line for line in table if line.startswith("| ") and not line.startswith("| config |")]
    assert len(rows) == len(report("reproduce")["runs"]) == 4
    for row in rows:
        assert row in readme.splitlines()
    assert f"{report('reproduce')['command']}\n```" in readme


def test_the_shipped_models_are_the_reproduce_runs_and_the_readme_lists_their_cards():
    readme = (ROOT / "README.md").read_text().splitlines()
    runs = {run["config"]: run for run in report("reproduce")["runs"]}
    assert set(cards()) == set(runs)
    for name, card in cards().items():
        run = runs[name]
        assert card["command"] == report("reproduce")["command"]
        assert (card["epochs"], card["best_epoch"], card["test_acc"]) == (
            run["epochs"],
            run["best_epoch"],
            run["test_acc"],
        )
        row = (
            f"| `{name}` | {card['cell']} | {card['hidden_size']} | {card['epochs']} "
            f"| {card['best_epoch']} | {percent(card['test_acc'])} | {card['file']} ("
        )
        line = next(line for line in readme if line.startswith(row))
        assert f"`{card['sha256'][:12]}…`" in line


def test_the_shipped_rnn_meets_its_goal_of_98_5_percent():
    assert cards()["rnn"]["test_acc"] >= 0.985


def test_the_readmes_main_job_time_is_the_lstm_reproduce_run():
    readme = " ".join((ROOT / "README.md").read_text().split())
    (lstm,) = [run for run in report("reproduce")["runs"] if run["config"] == "lstm"]
    assert f"({lstm['wall_time_s'] / 60:.1f} min of training and test on a 2-core CPU" in readme


def test_the_profile_table_is_the_profile_report():
    performance = (ROOT / "docs" / "performance.md").read_text().splitlines()
    profile = report("profile_fit_fast")
    assert (
        profile["config"] == "fast" and profile["command"] == "python scripts/profile_fit.py fast"
    )
    rows = {
        "the process, start to end (wall)": profile["wall_s"],
        "profiled in all": profile["profiled_s"],
        **profile["parts_s"],
    }
    for part, seconds in rows.items():
        assert f"| {part} | {seconds:.1f} |" in performance, part


def test_the_batch_512_sentence_is_its_reports():
    recipes = " ".join((ROOT / "docs" / "recipes.md").read_text().split())
    (wide,) = report("fast_b512_e7")["summary"]
    now = [run["wall_s"] for run in report("fast_b256_now")["runs"]]
    assert f"median of {wide['median_wall_s']:.1f} s" in recipes
    assert f"took {now[1]:.1f} s and {now[0]:.1f} s" in recipes
    assert f"{wide['below_99']} of its {wide['seeds']} seeds ended below 99%" in recipes
    scores = f"{percent(wide['min_test_acc'])} / {percent(wide['median_test_acc'])}"
    assert f"(min / median {scores};" in recipes


def test_the_step_time_floor_is_fast_yamls_samples_at_the_benchmarked_rate():
    performance = " ".join((ROOT / "docs" / "performance.md").read_text().split())
    config = yaml.safe_load((ROOT / "scripts" / "configs" / "fast.yaml").read_text())
    bench = report("bench_gru_fast")
    assert bench["settings"]["hidden"] == config["model"]["hidden_size"]
    assert bench["settings"]["batch"] == config["data"]["batch_size"]
    assert bench["settings"]["pixels_per_step"] == config["model"]["pixels_per_step"]
    train_images = 60_000 - config["data"]["val_size"]
    samples = config["trainer"]["max_epochs"] * train_images
    rate = bench["results"]["fused_gru_cpp_bf16"]["samples_per_s_median"]
    assert f"seven epochs of {train_images:,} training images are {samples:,} samples" in (
        performance
    )
    assert f"at {rate:,.0f} samples/s" in performance
    assert f"needs {samples / rate:.1f} s for them" in performance
    profile = report("profile_fit_fast")
    fixed = profile["before_the_cli_s"] + profile["parts_s"]["Trainer.test: the post-fit test"]
    assert f"with the {fixed:.1f} s of imports and test in the profile above" in performance
    assert samples / rate + fixed > 20  # "a run cannot end in 20 s"


@pytest.mark.parametrize(
    ("stem", "shape", "threads"),
    [
        ("bench_gru", "`gru.yaml`'s: hidden 128, batch 100, 28 steps of 28", "2"),
        ("bench_gru_threads1", "`gru.yaml`'s", "1"),
        ("bench_gru_fast", "`fast.yaml`'s: hidden 160, batch 256, 14 steps of 56", "2"),
        ("bench_gru_fast_threads1", "`fast.yaml`'s", "1"),
    ],
)
def test_the_gru_against_lstm_table_is_the_bench_gru_reports(stem, shape, threads):
    performance = (ROOT / "docs" / "performance.md").read_text().splitlines()
    settings = report(stem)["settings"]
    assert settings["command"] in performance  # the command, as docs show it
    assert settings["environment"]["torch_threads"] == int(threads)
    (row,) = [line for line in performance if line.startswith(f"| {shape} | {threads} |")]
    measured = {
        cells[0]: cells
        for line in (ROOT / "results" / f"{stem}.md").read_text().splitlines()
        if (cells := [cell.strip() for cell in line.strip().strip("|").split("|")])[0].startswith(
            "fused_gru_cpp"
        )
    }
    hidden = settings["hidden"]
    for model, column in ((f"fused_gru_cpp-{hidden}", 2), (f"fused_gru_cpp_bf16-{hidden}", 3)):
        vs_lstm, spread = measured[model][5:7]
        assert row.strip().strip("|").split("|")[column].strip() == f"{vs_lstm} ({spread})"
