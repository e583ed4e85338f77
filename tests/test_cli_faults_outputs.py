"""No output may be an input: ``rnn-mnist predict`` refuses, before any work, a predictions file
that is (or resolves through links to) the checkpoint, a --config file, an image of the folder
being classified, a file in that folder, or a file in an existing run folder. Every file stays
byte-identical and the refusal is one line with exit status 2."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from cli_process import checksums, error_lines, rnn_mnist
from PIL import Image
from synthetic_mnist import synthetic_digits
from tiny_cli import tiny_args


@pytest.fixture
def workspace(tiny_checkpoint, tmp_path) -> dict[str, Path]:
    """A copy of the tiny run (its run folder included), a config file and a digits folder."""
    ckpt, data = tiny_checkpoint
    runs = tmp_path / "runs"
    shutil.copytree(ckpt.parents[2], runs / "tiny")
    digits = tmp_path / "digits"
    digits.mkdir()
    for i, image in enumerate(synthetic_digits(3, seed=1)[0]):
        Image.fromarray(image).save(digits / f"{i}.png")
    config = tmp_path / "predict.yaml"
    config.write_text("data:\n  batch_size: 10\n")
    return {
        "ckpt": runs / "tiny" / "version_0" / "checkpoints" / "best.ckpt",
        "data": data,
        "runs": runs,
        "digits": digits,
        "config": config,
    }


def predict(workspace: dict[str, Path], output: Path) -> subprocess.CompletedProcess:
    return rnn_mnist(
        "predict",
        "--config", str(workspace["config"]),
        *tiny_args(workspace["data"], workspace["runs"]),
        "--ckpt_path", str(workspace["ckpt"]),
        "--data.predict_dir", str(workspace["digits"]),
        "--predictions.output", str(output),
        cwd=workspace["runs"].parent,
    )  # fmt: skip


def ckpt_link(w: dict[str, Path]) -> tuple[Path, str]:
    link = w["runs"].parent / "model.ckpt"
    link.symlink_to(w["ckpt"])
    return link, "is the checkpoint being loaded, --ckpt_path"


def linked_image(w: dict[str, Path]) -> tuple[Path, str]:
    """An image outside the folder that the folder links to: writing it changes an input."""
    outside = w["runs"].parent / "elsewhere.png"
    shutil.copyfile(w["digits"] / "0.png", outside)
    (w["digits"] / "3.png").symlink_to(outside)
    return outside, "a file of --data.predict_dir"


def link_into_folder(w: dict[str, Path]) -> tuple[Path, str]:
    link = w["runs"].parent / "digit.png"
    link.symlink_to(w["digits"] / "0.png")
    return link, "lies in --data.predict_dir"


CASES = {
    "the checkpoint": lambda w: (w["ckpt"], "is the checkpoint being loaded, --ckpt_path"),
    "a link to the checkpoint": ckpt_link,
    "the config file": lambda w: (w["config"], "is a config file given with --config"),
    "an image being classified": lambda w: (w["digits"] / "1.png", "lies in --data.predict_dir"),
    "a new file in the folder": lambda w: (w["digits"] / "out.csv", "lies in --data.predict_dir"),
    "a link into the folder": link_into_folder,
    "an image the folder links to": linked_image,
    "a file of a run": lambda w: (
        w["ckpt"].parents[1] / "predictions.csv",
        "lies in the run folder",
    ),
}


@pytest.mark.parametrize("case", CASES)
def test_an_output_that_is_an_input_is_refused_before_any_work(workspace, case):
    output, says = CASES[case](workspace)
    before = checksums(workspace["runs"].parent)
    result = predict(workspace, output)
    assert result.returncode == 2, result.stderr
    lines = error_lines(result.stderr)
    assert len(lines) == 1, result.stderr
    assert f"predictions.output {output} " in lines[0] and says in lines[0], lines[0]
    assert "Traceback" not in result.stderr
    assert checksums(workspace["runs"].parent) == before  # nothing written, nothing replaced


def test_a_config_given_before_the_subcommand_is_an_input_too(workspace):
    w = workspace
    config = w["runs"].parent / "top.yaml"  # a top-level config: settings by subcommand
    config.write_text("predict:\n  data:\n    batch_size: 10\n")
    before = checksums(w["runs"].parent)
    result = rnn_mnist(
        "--config", str(config), "predict",
        *tiny_args(w["data"], w["runs"]),
        "--ckpt_path", str(w["ckpt"]),
        "--data.predict_dir", str(w["digits"]),
        "--predictions.output", str(config),
        cwd=w["runs"].parent,
    )  # fmt: skip
    assert result.returncode == 2, result.stderr
    (line,) = error_lines(result.stderr)
    assert f"predictions.output {config} is a config file given with --config" in line
    assert checksums(w["runs"].parent) == before


def test_an_output_elsewhere_is_written_and_the_next_predict_reads_the_same_images(workspace):
    output = workspace["runs"].parent / "out" / "predictions.csv"
    before = checksums(workspace["digits"])
    first = predict(workspace, output)
    assert first.returncode == 0, first.stderr
    assert checksums(workspace["digits"]) == before
    rows = output.read_text().splitlines()
    assert [row.split(",")[0] for row in rows] == ["source", "0.png", "1.png", "2.png"]
    second = predict(workspace, output)  # rewriting one's own earlier output is allowed
    assert second.returncode == 0, second.stderr
    assert output.read_text().splitlines() == rows  # its own earlier output was not read
