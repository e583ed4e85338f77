"""The demo's logic without a browser: a good picture, a drawing, a blank one, a broken file."""

from __future__ import annotations

import importlib.util
import statistics
import sys

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw
from synthetic_mnist import synthetic_digits

from data import load_digit_image
from lightning_module import RecurrentClassifier
from lightning_module.demo import cli as demo_cli
from lightning_module.demo.reader import BLANK, NO_INPUT, DigitReader


@pytest.fixture(scope="module")
def reader() -> DigitReader:
    return DigitReader()


@pytest.fixture
def one_thread(torch_threads):
    """A single picture is too small to share out: threads would only wait on each other."""
    torch_threads(1)


@pytest.fixture
def digit_file(tmp_path):
    images, _ = synthetic_digits(4, seed=1)
    path = tmp_path / "digit.png"
    Image.fromarray(images[3]).resize((112, 112)).save(path)
    return path


def test_a_good_picture_gets_the_models_prediction_probabilities_and_figures(
    reader, digit_file, one_thread
):
    reading = reader.read(digit_file, "lstm")
    model = RecurrentClassifier.pretrained("lstm")
    digit = torch.from_numpy(load_digit_image(digit_file))[None]  # predict's conversion
    with torch.no_grad():
        expected = torch.softmax(model(digit), dim=1)[0]
    predicted = int(expected.argmax())
    assert reading.message.startswith(f"Prediction: **{predicted}** (")
    assert "by the lstm model, in " in reading.message
    assert reading.probabilities == pytest.approx(
        {str(c): float(p) for c, p in enumerate(expected)}, abs=1e-6
    )
    assert reading.digit.shape == (168, 168) and reading.digit.dtype == np.uint8
    np.testing.assert_array_equal(reading.digit[::6, ::6], np.round(255 * digit[0].numpy()))
    assert reading.figure.ndim == 3 and reading.figure.shape[2] == 4
    assert reading.figure.shape[0] > 200 and reading.figure.shape[1] > 500


@pytest.mark.parametrize("name", ["rnn", "gru", "lstm", "practical"])
def test_a_prediction_with_its_figure_takes_well_under_a_second(
    reader, digit_file, one_thread, name
):
    reader.read(digit_file, name)  # loads the model (and builds FusedGRU's kernel) once
    seconds = [reader.read(digit_file, name).seconds for _ in range(3)]
    print(f"demo prediction with {name}: {1000 * statistics.median(seconds):.0f} ms (median of 3)")
    assert statistics.median(seconds) < 1.0


def test_a_drawing_on_a_transparent_canvas_reads_as_the_same_picture_saved_as_png(
    reader, tmp_path, one_thread
):
    drawing = Image.new("RGBA", (280, 280), (0, 0, 0, 0))
    ImageDraw.Draw(drawing).line([(140, 40), (140, 240)], fill=(0, 0, 0, 255), width=18)
    drawing.save(tmp_path / "drawing.png")
    from_canvas = reader.read(drawing, "gru")
    from_file = reader.read(tmp_path / "drawing.png", "gru")
    assert from_canvas.message.split(", in ")[0] == from_file.message.split(", in ")[0]
    np.testing.assert_array_equal(from_canvas.digit, from_file.digit)
    assert from_canvas.digit.max() == 255  # the stroke is ink, the transparent canvas is not


@pytest.mark.parametrize("picture", ["blank", "canvas"])
def test_a_blank_picture_gets_a_message_not_a_prediction(reader, tmp_path, picture):
    if picture == "blank":
        Image.new("L", (50, 50), 200).save(tmp_path / "grey.png")
        source = tmp_path / "grey.png"
    else:
        source = Image.new("RGBA", (280, 280), (0, 0, 0, 0))  # an untouched sketchpad
    reading = reader.read(source, "lstm")
    assert reading.message == BLANK and reading.probabilities is None and reading.figure is None


def test_a_broken_file_or_no_picture_gets_a_message_naming_the_file_not_its_folder(
    reader, tmp_path
):
    (tmp_path / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    reading = reader.read(tmp_path / "broken.png", "lstm")
    assert reading.message.startswith("Could not read the picture: broken.png: ")
    assert str(tmp_path) not in reading.message and reading.probabilities is None
    (tmp_path / "notes.txt").write_text("seven")
    assert (
        "notes.txt: not an image (expected PNG or JPEG)"
        in reader.read(tmp_path / "notes.txt", "rnn").message
    )
    assert reader.read(None, "lstm").message == NO_INPUT


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--port", "0"], "argument --port: expected a TCP port in 1..65535, got 0"),
        (["--port", "x"], "argument --port: invalid int value: 'x'"),
        (
            ["--model", "bert"],
            "argument --model: unknown pretrained model 'bert' (known: gru, lstm, practical, rnn)",
        ),
        (["--colour", "red"], "unrecognized arguments: --colour red"),
    ],
)
def test_demo_refuses_bad_options_with_one_error_line(argv, message, capsys):
    from lightning_module.cli import main

    assert main(["demo", *argv]) == 2
    assert capsys.readouterr().err == f"rnn-mnist demo: error: {message}\n"


def test_demo_without_gradio_says_how_to_install_it(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "gradio", None)  # import gradio now raises ImportError
    assert demo_cli.main(["--port", "7861"]) == 2
    err = capsys.readouterr().err
    assert err == (
        "rnn-mnist demo: error: the demo needs gradio, which is not installed "
        "(pip install 'rnn-mnist[demo]')\n"
    )


@pytest.mark.skipif(importlib.util.find_spec("gradio") is None, reason="gradio is not installed")
def test_the_page_offers_every_pretrained_model_with_the_default_selected(reader):
    from lightning_module.demo.app import build_app

    app = build_app(reader, "gru")
    config = app.get_config_file()
    (dropdown,) = [
        c for c in config["components"] if c.get("props", {}).get("elem_id") == "demo-model"
    ]
    assert [choice[1] for choice in dropdown["props"]["choices"]] == [
        "gru",
        "lstm",
        "practical",
        "rnn",
    ]
    assert dropdown["props"]["value"] == "gru"
    ids = {c.get("props", {}).get("elem_id") for c in config["components"]}
    assert {"demo-sketch", "demo-upload", "demo-status", "demo-label", "demo-readout"} <= ids
