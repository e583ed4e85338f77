"""scripts/plot_readouts.py: accuracy after each row for pretrained models, figures and tables."""

from __future__ import annotations

import json

import pytest
import torch
from PIL import Image
from scripts_loader import load_script

from lab.readouts import accuracy_by_row, load_test_batches
from lightning_module import RecurrentClassifier


def test_accuracy_after_the_last_row_is_the_models_test_accuracy(mnist_dir):
    model = RecurrentClassifier(cell="gru", hidden_size=6).eval()
    batches = load_test_batches(mnist_dir, batch_size=30)
    accuracies = accuracy_by_row(model, batches)
    assert len(accuracies) == 28
    images = torch.cat([b[0] for b in batches])
    labels = torch.cat([b[1] for b in batches])
    with torch.no_grad():
        assert accuracies[-1] == pytest.approx(
            float((model(images).argmax(1) == labels).double().mean())
        )
        first = model.net.head(model.net.rnn(images[:, :1])[0][:, 0]).argmax(1)
    assert accuracies[0] == pytest.approx(float((first == labels).double().mean()))


def test_the_script_writes_both_figures_and_the_per_row_accuracies(mnist_dir, tmp_path, capsys):
    script = load_script("plot_readouts")
    docs, results = tmp_path / "docs", tmp_path / "results"
    args = ["--models", "gru", "lstm", "--examples", "2", "--data-dir", str(mnist_dir)]
    assert script.main([*args, "--docs-dir", str(docs), "--results-dir", str(results)]) == 0
    for name in ("readout_accuracy_by_row.png", "readout_examples.png"):
        with Image.open(docs / name) as image:
            assert image.format == "PNG" and image.width > 400
    report = json.loads((results / "readouts.json").read_text())
    assert report["images"] == 100 and list(report["models"]) == ["gru", "lstm"]
    expected = accuracy_by_row(RecurrentClassifier.pretrained("lstm"), load_test_batches(mnist_dir))
    assert report["models"]["lstm"]["accuracy_by_row"] == pytest.approx(expected)
    table = (results / "readouts.md").read_text().splitlines()
    assert "| rows read | gru | lstm |" in table
    assert table[-1].startswith("| 28 | ") and f"{100 * expected[-1]:.2f}%" in table[-1]
    assert str(docs / "readout_examples.png") in capsys.readouterr().out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--models", "bert"],
            "unknown pretrained model 'bert' (known: gru, lstm, practical, rnn)",
        ),
        (["--models", "rnn", "--example-model", "lstm"], "'lstm' is not among --models ['rnn']"),
        (["--examples", "0"], "--examples: expected 1 to 16 digits, got 0"),
    ],
)
def test_the_script_refuses_bad_arguments_in_one_line_and_writes_nothing(
    args, message, mnist_dir, tmp_path, capsys
):
    script = load_script("plot_readouts")
    out = ["--docs-dir", str(tmp_path / "d"), "--results-dir", str(tmp_path / "r")]
    assert script.main([*args, "--data-dir", str(mnist_dir), *out]) == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith("plot_readouts: error: ") and message in line
    assert not (tmp_path / "d").exists() and not (tmp_path / "r").exists()
