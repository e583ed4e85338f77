"""load_digit_image and the predict folder: MNIST-like conversion, clear refusals, nothing lost."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import pytorch_lightning as pl
import torch
from PIL import Image, ImageDraw
from synthetic_mnist import png_header_only

from data import DigitImageError, MNISTDataModule, load_digit_image
from data.images import MAX_PIXELS


def _draw_seven(size=(120, 160), ink=0, paper=255, mode="L") -> Image.Image:
    """A thick dark '7' on light paper, off-centre, as a phone picture of a written digit."""
    image = Image.new(mode, size, paper)
    draw = ImageDraw.Draw(image)
    draw.line([(20, 30), (90, 30), (45, 140)], fill=ink, width=12)
    return image


def _save(image: Image.Image, path: Path, **kwargs) -> Path:
    image.save(path, **kwargs)
    return path


def _ink_box(image: np.ndarray) -> tuple[int, int]:
    rows = np.flatnonzero(image.max(axis=1) > 0)
    cols = np.flatnonzero(image.max(axis=0) > 0)
    return rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1


def _centre_of_mass(image: np.ndarray) -> tuple[float, float]:
    index = np.arange(28)
    mass = image.sum()
    return (image.sum(1) * index).sum() / mass, (image.sum(0) * index).sum() / mass


def test_dark_digit_on_light_paper_becomes_an_mnist_like_white_digit_on_black(tmp_path):
    out = load_digit_image(_save(_draw_seven(), tmp_path / "seven.png"))
    assert out.dtype == np.float32 and out.shape == (28, 28)
    assert out.min() == 0.0 and out.max() == pytest.approx(1.0)
    assert out[0].max() == out[-1].max() == out[:, 0].max() == out[:, -1].max() == 0.0
    height, width = _ink_box(out)
    assert max(height, width) in (20, 21)  # the longer side fits 20 px (+1 for Lanczos spill)
    assert width < height  # aspect kept: the 7 is taller than wide
    row, col = _centre_of_mass(out)
    assert abs(row - 14) <= 0.5 and abs(col - 14) <= 0.5


@pytest.mark.parametrize(
    "variant",
    ["white_on_black", "colour", "rgba_transparent", "grey_16_bit", "jpeg", "twice_as_large"],
)
def test_every_variant_of_a_digit_converts_like_the_plain_grey_png(tmp_path, variant):
    reference = load_digit_image(_save(_draw_seven(), tmp_path / "reference.png"))
    if variant == "white_on_black":
        path = _save(_draw_seven(ink=255, paper=0), tmp_path / "v.png")
    elif variant == "colour":
        image = _draw_seven(ink=(0, 0, 0), paper=(255, 255, 255), mode="RGB")
        path = _save(image, tmp_path / "v.png")
    elif variant == "rgba_transparent":
        image = _draw_seven(ink=(0, 0, 0, 255), paper=(0, 0, 0, 0), mode="RGBA")
        path = _save(image, tmp_path / "v.png")
    elif variant == "grey_16_bit":
        grey = np.asarray(_draw_seven(), dtype=np.uint16) * 257
        path = _save(Image.fromarray(grey), tmp_path / "v.png")
        assert Image.open(path).mode.startswith("I")
    elif variant == "jpeg":
        path = _save(_draw_seven(), tmp_path / "v.jpg", quality=90)
    else:
        image = _draw_seven().resize((240, 320), Image.Resampling.BILINEAR)
        path = _save(image, tmp_path / "v.png")
    difference = np.abs(load_digit_image(path) - reference)
    if variant in ("jpeg", "twice_as_large"):  # resampled or lossy: close, not equal
        assert difference.mean() < 0.02 and difference.max() < 0.25
    else:
        assert difference.max() < 1e-6


def test_a_light_digit_on_a_transparent_canvas_is_kept(tmp_path):
    image = _draw_seven(ink=(255, 255, 255, 255), paper=(255, 255, 255, 0), mode="RGBA")
    out = load_digit_image(_save(image, tmp_path / "white_on_transparent.png"))
    reference = load_digit_image(_save(_draw_seven(), tmp_path / "reference.png"))
    assert np.abs(out - reference).max() < 1e-6


def test_a_grey_paper_tone_is_removed(tmp_path):
    out = load_digit_image(_save(_draw_seven(ink=40, paper=170), tmp_path / "grey_paper.png"))
    reference = load_digit_image(_save(_draw_seven(), tmp_path / "reference.png"))
    assert out.min() == 0.0 and np.abs(out - reference).max() < 1e-5


@pytest.mark.parametrize("size", [(1, 1), (5, 3)])
def test_a_uniform_image_including_one_pixel_becomes_all_black(tmp_path, size):
    out = load_digit_image(_save(Image.new("RGB", size, (200, 10, 10)), tmp_path / "flat.png"))
    assert out.shape == (28, 28) and not out.any()


def test_a_one_pixel_dot_becomes_a_centred_blob(tmp_path):
    image = Image.new("L", (9, 9), 255)
    image.putpixel((2, 6), 0)
    out = load_digit_image(_save(image, tmp_path / "dot.png"))
    row, col = _centre_of_mass(out)
    assert out.max() == pytest.approx(1.0) and abs(row - 14) <= 0.5 and abs(col - 14) <= 0.5


def test_an_mnist_digit_blown_up_and_inverted_comes_back_close_to_itself(real_mnist_dir, tmp_path):
    blob = (real_mnist_dir / "MNIST" / "raw" / "t10k-images-idx3-ubyte").read_bytes()
    digits = np.frombuffer(blob, dtype=np.uint8, offset=16).reshape(-1, 28, 28)[:20]
    correlations = []
    for i, digit in enumerate(digits):
        photo = Image.fromarray(255 - digit).resize((280, 280), Image.Resampling.BICUBIC)
        out = load_digit_image(_save(photo, tmp_path / f"{i}.png"))
        # Centring rounds to whole pixels, so allow the two to differ by a one-pixel shift.
        best = max(
            np.corrcoef(np.roll(out, (dy, dx), axis=(0, 1)).ravel(), digit.ravel())[0, 1]
            for dy in (-1, 0, 1)
            for dx in (-1, 0, 1)
        )
        correlations.append(best)
    assert min(correlations) > 0.9 and np.mean(correlations) > 0.97, correlations


# -- refusals ------------------------------------------------------------------------------


def test_a_huge_image_is_refused_from_its_header_before_decoding(tmp_path):
    path = tmp_path / "bomb.png"
    path.write_bytes(png_header_only(10_000, 10_000))  # no pixel data: decoding would fail
    with pytest.raises(DigitImageError, match="too large") as info:
        load_digit_image(path)
    assert str(MAX_PIXELS) in str(info.value) and "10000x10000" in str(info.value)


def test_an_image_exactly_at_the_pixel_limit_is_not_refused_for_size(tmp_path):
    path = tmp_path / "big_but_allowed.png"
    path.write_bytes(png_header_only(MAX_PIXELS // 10_000, 10_000))
    with pytest.raises(DigitImageError, match="cannot decode"):  # fails later, at decoding
        load_digit_image(path)


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "empty file"),
        (b"a digit, honestly\n", "not an image"),
        (None, "cannot decode"),  # a truncated PNG
        ("gif", "unsupported image format GIF"),
    ],
)
def test_unreadable_files_are_refused_with_the_file_and_the_reason(tmp_path, content, reason):
    path = tmp_path / "bad.png"
    if content is None:
        path.write_bytes(_save(_draw_seven(), tmp_path / "full.png").read_bytes()[:200])
    elif content == "gif":
        _draw_seven().save(path, format="GIF")
    else:
        path.write_bytes(content)
    with pytest.raises(DigitImageError, match=reason) as info:
        load_digit_image(path)
    assert str(path) in str(info.value)
    assert isinstance(info.value, ValueError)


def test_a_missing_file_is_refused(tmp_path):
    with pytest.raises(DigitImageError, match="cannot be read"):
        load_digit_image(tmp_path / "nowhere.png")


# -- predicting a folder -------------------------------------------------------------------


def test_predict_folder_serves_readable_images_and_reports_the_rest(tmp_path):
    folder = tmp_path / "digits"
    (folder / "sub").mkdir(parents=True)
    (folder / ".hidden").mkdir()
    _save(_draw_seven(), folder / "b_seven.png")
    _save(_draw_seven(ink=255, paper=0), folder / "sub" / "a_seven.jpg")
    _save(_draw_seven(), folder / ".hidden" / "skipped.png")
    (folder / "notes.txt").write_text("not an image")
    (folder / "empty.png").write_bytes(b"")
    dm = MNISTDataModule(data_dir=str(tmp_path / "no_mnist_needed"), predict_dir=str(folder))
    dm.setup("predict")
    assert dm.predict_names == ["b_seven.png", "sub/a_seven.jpg"]
    assert dm.predict_failures == [
        ("empty.png", "empty file"),
        ("notes.txt", "not an image (expected PNG or JPEG)"),
    ]
    assert dm.predict_labels is None
    x, index = next(iter(dm.predict_dataloader()))
    assert x.dtype == torch.float32 and x.shape == (2, 28, 28)
    assert index.tolist() == [0, 1]
    assert torch.equal(x[0], torch.from_numpy(load_digit_image(folder / "b_seven.png")))


def test_predict_folder_that_does_not_exist_is_refused_naming_predict_dir(tmp_path):
    dm = MNISTDataModule(data_dir=str(tmp_path), predict_dir=str(tmp_path / "missing"))
    with pytest.raises(ValueError, match="predict_dir .*missing"):
        dm.setup("predict")


class _IndexEcho(pl.LightningModule):
    def __init__(self) -> None:
        super().__init__()
        self.layer = torch.nn.Linear(784, 10)

    def predict_step(self, batch, batch_idx):
        x, index = batch
        return index, self.layer(x.flatten(1)).argmax(1)


def test_lightning_predict_on_a_folder_needs_no_mnist_and_returns_every_index(tmp_path):
    folder = tmp_path / "digits"
    folder.mkdir()
    for i in range(5):
        _save(_draw_seven(size=(60 + 10 * i, 90)), folder / f"{i}.png")
    (folder / "broken.jpg").write_bytes(b"\xff\xd8\xff not really")
    dm = MNISTDataModule(
        data_dir=str(tmp_path / "no_mnist_here"), predict_dir=str(folder), batch_size=2
    )
    trainer = pl.Trainer(accelerator="cpu", logger=False, enable_progress_bar=False)
    outputs = trainer.predict(_IndexEcho(), datamodule=dm)
    index = torch.cat([batch_index for batch_index, _ in outputs])
    assert [dm.predict_names[i] for i in index] == [f"{i}.png" for i in range(5)]
    assert [name for name, _ in dm.predict_failures] == ["broken.jpg"]
    assert not (tmp_path / "no_mnist_here").exists()  # nothing was downloaded
