"""``rnn-mnist predict`` on a folder of awkward and broken image files.

Convertible images (colour, 16-bit, large) are classified after data.images' documented
conversion; unreadable ones (not an image, empty, too large by header, truncated) and blank ones
(one uniform colour, 1x1 included: no digit, as the demo says) each get a CSV row with an empty
prediction and a stderr line with the reason; the rest are still classified; the exit code is 1
exactly when something failed.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from synthetic_mnist import png_header_only, synthetic_digits
from tiny_cli import predict_folder

from data import load_digit_image
from data.images import MAX_PIXELS, NO_DIGIT
from lightning_module import RecurrentClassifier

pytestmark = pytest.mark.filterwarnings("ignore:LightningCLI's args parameter")


def write_convertible(folder: Path) -> list[str]:
    """Images that must be classified; returns their names."""
    digits, _ = synthetic_digits(4, seed=5)
    Image.fromarray(digits[0]).save(folder / "grey.png")
    Image.fromarray(digits[1]).convert("RGB").save(folder / "colour.jpg", quality=95)
    Image.fromarray(digits[2].astype(np.uint16) * 257).save(folder / "sixteen_bit.png")
    Image.fromarray(digits[3]).resize((1400, 1400)).save(folder / "large.png")
    assert Image.open(folder / "sixteen_bit.png").mode.startswith("I")
    return ["colour.jpg", "grey.png", "large.png", "sixteen_bit.png"]


def write_unreadable(folder: Path) -> dict[str, str]:
    """Files that cannot be classified; returns name -> the reason the CSV must give."""
    (folder / "notes.txt").write_text("shopping list\n")
    (folder / "empty.png").write_bytes(b"")
    (folder / "bomb.png").write_bytes(png_header_only(10_000, 10_000))
    Image.new("L", (64, 64), 30).save(folder / "whole.png")
    blob = (folder / "whole.png").read_bytes()
    (folder / "truncated.png").write_bytes(blob[: len(blob) // 2])
    (folder / "whole.png").unlink()
    Image.new("L", (1, 1), 200).save(folder / "one_pixel.png")  # uniform: no digit to classify
    Image.new("RGB", (40, 30), (90, 140, 200)).save(folder / "blue.png")
    return {
        "one_pixel.png": NO_DIGIT,
        "blue.png": NO_DIGIT,
        "notes.txt": "not an image (expected PNG or JPEG)",
        "empty.png": "empty file",
        "bomb.png": f"image too large (10000x10000 = 100000000 pixels; the limit is {MAX_PIXELS})",
        "truncated.png": "cannot decode the image",
    }


def read_rows(path: Path) -> dict[str, dict[str, str]]:
    with open(path, newline="") as handle:
        return {row["source"]: row for row in csv.DictReader(handle)}


def test_bad_files_are_reported_one_per_line_the_rest_classified_and_the_exit_code_is_1(
    tiny_checkpoint, tmp_path, capsys
):
    folder = tmp_path / "digits"
    folder.mkdir()
    good = write_convertible(folder)
    bad = write_unreadable(folder)
    output = tmp_path / "out.csv"
    assert predict_folder(tiny_checkpoint, folder, output) == 1
    rows = read_rows(output)
    assert set(rows) == set(good) | set(bad)
    model = RecurrentClassifier.load_from_checkpoint(tiny_checkpoint[0]).eval()
    for name in good:
        image = torch.from_numpy(load_digit_image(folder / name))[None]
        with torch.no_grad():
            probabilities = torch.softmax(model(image), dim=1)[0]
        assert rows[name]["error"] == ""
        assert int(rows[name]["prediction"]) == int(probabilities.argmax())
        assert float(rows[name]["probability"]) == pytest.approx(
            float(probabilities.max()), abs=1e-5
        )
    err_lines = capsys.readouterr().err.splitlines()
    for name, reason in bad.items():
        assert rows[name]["prediction"] == "" and rows[name]["probability"] == ""
        assert rows[name]["error"].startswith(reason), rows[name]["error"]
        assert (
            sum(line.startswith(f"could not classify {name}: {reason}") for line in err_lines) == 1
        )
    assert "Traceback" not in "\n".join(err_lines)


def test_the_documented_conversions_make_odd_images_mnist_like(tmp_path):
    write_convertible(tmp_path)
    Image.new("L", (1, 1), 200).save(tmp_path / "one_pixel.png")
    grey = load_digit_image(tmp_path / "grey.png")
    assert grey.shape == (28, 28) and grey.dtype == np.float32 and grey.max() == 1.0
    assert np.abs(load_digit_image(tmp_path / "sixteen_bit.png")).max() == 1.0
    assert not load_digit_image(tmp_path / "one_pixel.png").any()  # uniform: no ink, all black
    for name in ("colour.jpg", "large.png"):
        converted = load_digit_image(tmp_path / name)
        assert converted.shape == (28, 28) and 0.0 <= converted.min() and converted.max() == 1.0


def test_a_folder_of_only_convertible_images_exits_0_with_no_errors(
    tiny_checkpoint, tmp_path, capsys
):
    folder = tmp_path / "digits"
    folder.mkdir()
    good = write_convertible(folder)
    output = tmp_path / "out.csv"
    assert predict_folder(tiny_checkpoint, folder, output) == 0
    rows = read_rows(output)
    assert sorted(rows) == good and all(row["error"] == "" for row in rows.values())
    assert "could not classify" not in capsys.readouterr().err


def test_a_missing_predict_folder_is_a_one_line_error_with_exit_1(
    tiny_checkpoint, tmp_path, capsys
):
    output = tmp_path / "out.csv"
    assert predict_folder(tiny_checkpoint, tmp_path / "nowhere", output) == 1
    err = capsys.readouterr().err
    assert f"rnn-mnist: error: predict_dir {tmp_path / 'nowhere'} is not a folder" in err
    assert "Traceback" not in err and not output.exists()


def test_a_predict_folder_without_files_is_a_one_line_error_with_exit_1(
    tiny_checkpoint, tmp_path, capsys
):
    folder = tmp_path / "empty"
    (folder / "sub").mkdir(parents=True)
    (folder / ".hidden.png").write_bytes(b"not looked at")
    output = tmp_path / "out.csv"
    assert predict_folder(tiny_checkpoint, folder, output) == 1
    err = capsys.readouterr().err
    assert (
        f"rnn-mnist: error: predict_dir {folder} holds no files (hidden ones are left out)" in err
    )
    assert "Traceback" not in err and not output.exists()
