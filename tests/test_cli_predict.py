"""rnn-mnist predict: the test set or an image folder to CSV, each bad image on its own row."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from synthetic_mnist import synthetic_digits
from tiny_cli import predict_folder, tiny_args

from data import load_digit_image
from lightning_module import RecurrentClassifier
from lightning_module.cli import main
from lightning_module.training.predictions import PredictionCSVWriter

pytestmark = pytest.mark.filterwarnings("ignore:LightningCLI's args parameter")


def read_rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def test_predict_classifies_the_test_set_into_a_csv_with_labels(tiny_checkpoint, tmp_path):
    ckpt, data = tiny_checkpoint
    output = tmp_path / "out" / "test_predictions.csv"
    code = main(
        [
            "predict",
            *tiny_args(data, tmp_path / "runs"),
            "--ckpt_path",
            str(ckpt),
            "--predictions.output",
            str(output),
        ]
    )
    assert code == 0
    rows = read_rows(output)
    assert list(rows[0]) == ["source", "prediction", "probability", "label", "error"]
    assert [row["source"] for row in rows] == [str(i) for i in range(100)]
    _, labels = synthetic_digits(100, seed=1)  # the fixture's test split
    assert [int(row["label"]) for row in rows] == labels.tolist()
    model = RecurrentClassifier.load_from_checkpoint(ckpt).eval()
    images, _ = synthetic_digits(100, seed=1)
    with torch.no_grad():
        probabilities = torch.softmax(model(torch.from_numpy(images / np.float32(255)).float()), 1)
    assert [int(row["prediction"]) for row in rows] == probabilities.argmax(1).tolist()
    expected = probabilities.max(1).values.tolist()
    assert [float(row["probability"]) for row in rows] == pytest.approx(expected, abs=1e-5)
    assert all(row["error"] == "" for row in rows)
    assert sorted(p.name for p in output.parent.iterdir()) == ["test_predictions.csv"]


def test_predict_on_a_folder_classifies_readable_images_reports_bad_ones_and_exits_1(
    tiny_checkpoint, tmp_path, capsys
):
    ckpt, data = tiny_checkpoint
    folder = tmp_path / "digits"
    (folder / "more").mkdir(parents=True)
    images, _ = synthetic_digits(3, seed=7)
    Image.fromarray(images[0]).save(folder / "a.png")
    Image.fromarray(images[1]).resize((56, 56)).save(folder / "more" / "b.jpg")
    Image.fromarray(images[2]).convert("RGB").save(folder / "c.png")
    (folder / "broken.png").write_bytes(b"this is not an image")
    output = tmp_path / "folder.csv"
    code = predict_folder(tiny_checkpoint, folder, output)
    assert code == 1
    rows = {row["source"]: row for row in read_rows(output)}
    assert set(rows) == {"a.png", "more/b.jpg", "c.png", "broken.png"}
    assert "label" not in rows["a.png"]
    assert rows["broken.png"]["prediction"] == "" and rows["broken.png"]["error"] != ""
    model = RecurrentClassifier.load_from_checkpoint(ckpt).eval()
    for name in ("a.png", "more/b.jpg", "c.png"):
        image = torch.from_numpy(load_digit_image(folder / name)).float()[None]
        with torch.no_grad():
            probabilities = torch.softmax(model(image), 1)[0]
        assert int(rows[name]["prediction"]) == int(probabilities.argmax())
        assert float(rows[name]["probability"]) == pytest.approx(
            float(probabilities.max()), abs=1e-5
        )
        assert rows[name]["error"] == ""
    assert "could not classify broken.png" in capsys.readouterr().err


def test_predict_on_a_folder_of_only_bad_files_still_writes_their_rows(tiny_checkpoint, tmp_path):
    ckpt, data = tiny_checkpoint
    folder = tmp_path / "bad"
    folder.mkdir()
    (folder / "empty.png").write_bytes(b"")
    output = tmp_path / "bad.csv"
    code = predict_folder(tiny_checkpoint, folder, output)
    assert code == 1
    rows = read_rows(output)
    assert [row["source"] for row in rows] == ["empty.png"]
    assert rows[0]["error"] != ""


def test_csv_writer_orders_rows_by_index_and_puts_failures_last():
    writer = PredictionCSVWriter(output="unused.csv")
    probabilities = torch.tensor([[0.1, 0.9], [0.8, 0.2], [0.3, 0.7]])
    writer.write_on_batch_end(
        None,
        None,
        {"index": torch.tensor([2, 0]), "probabilities": probabilities[:2]},
        None,
        None,
        0,
    )
    writer.write_on_batch_end(
        None, None, {"index": torch.tensor([1]), "probabilities": probabilities[2:]}, None, None, 1
    )
    text = writer.render(["x.png", "y.png", "z.png"], None, [("bad.png", "not an image")])
    assert text.splitlines() == [
        "source,prediction,probability,error",
        "x.png,0,0.800000,",
        "y.png,1,0.700000,",
        "z.png,1,0.900000,",
        "bad.png,,,not an image",
    ]
