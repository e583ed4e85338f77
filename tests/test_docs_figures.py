"""The figures the README and docs give for the recipes and the before/after benchmark are the
ones in the committed reports of results/ (rewrite both together, or this fails)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

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


@pytest.mark.parametrize(
    "stem", ["fast_e5_val5k", "fast_e7_val5k", "fast_e5_val1k", "fast_e7_val1k"]
)
def test_the_recipe_sweep_table_is_the_sweeps_reports(stem):
    (summary,) = report(stem)["summary"]
    recipes = (ROOT / "docs" / "recipes.md").read_text()
    row = next(line for line in recipes.splitlines() if f"[`{stem}`]" in line)
    cells = [cell.strip(" *") for cell in row.split("|")]
    assert f"{percent(summary['min_test_acc'])} / {percent(summary['median_test_acc'])}" in cells
    assert str(summary["seeds"]) in cells and str(summary["below_99"]) in cells


@pytest.mark.parametrize("stem", ["fast_p56_e7_t1", "fast_p112_e7", "fast_p112_e9"])
def test_the_rows_per_step_table_is_the_sweeps_reports(stem):
    (summary,) = report(stem)["summary"]
    walls = [run["wall_s"] for run in report(stem)["runs"]]
    recipes = (ROOT / "docs" / "recipes.md").read_text()
    row = next(line for line in recipes.splitlines() if f"[`{stem}`]" in line)
    cells = [cell.strip() for cell in row.split("|")]
    assert f"{percent(summary['min_test_acc'])} / {percent(summary['median_test_acc'])}" in cells
    assert f"{min(walls):.1f}-{max(walls):.1f} s" in cells
    assert str(summary["seeds"]) in cells and str(summary["below_99"]) in cells


def test_the_before_after_table_is_the_compare_report():
    performance = (ROOT / "docs" / "performance.md").read_text()
    for row in report("benchmark_compare")["results"]:
        other, this = row["arms"]["other"], row["arms"]["this"]
        line = next(
            line for line in performance.splitlines() if line.startswith(f"| {row['config']} (")
        )
        rates = f"| {other['samples_per_s']:,.0f} | {this['samples_per_s']:,.0f} "
        assert f"{rates}| {this['ratio']:.3f} (" in line


def test_the_rnn_seed_table_is_the_rnn_seeds_report():
    recipes = (ROOT / "docs" / "recipes.md").read_text()
    for run in report("rnn_seeds")["runs"]:
        assert f"| {run['seed']} | {run['epochs']} | {percent(run['test_acc'])} |" in recipes
