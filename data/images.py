"""Turn any PNG or JPEG digit picture into a 28x28 image that looks like MNIST.

Conversion (in this order), mirroring how MNIST was made from NIST scans:

1. Refuse before decoding: an empty file, a file that is not PNG/JPEG, or an image whose header
   declares more than ``MAX_PIXELS`` pixels (a decompression bomb or a needlessly huge picture).
   Any decoding failure (truncated or corrupt data) is refused too. Each refusal is a
   ``DigitImageError`` (a ``ValueError``) whose message names the file and the reason.
2. Apply the EXIF orientation (phone photos), then grey: ITU-R 601 luma of the colour channels;
   16-bit images keep their precision (scaled by 65535). Transparency is flattened onto a
   background that contrasts with the opaque pixels (white behind dark strokes, black behind
   light ones), so a digit drawn on a transparent canvas is kept whatever its colour.
3. MNIST is a white digit on black: when the border pixels are mostly light (mean > 0.5) the
   image is inverted. The background level (median of the border) is then subtracted and the
   result rescaled so the brightest ink is 1, which removes a grey paper tone.
4. Crop to the bounding box of the ink (pixels >= ``INK_THRESHOLD`` after step 3), resize it
   so its longer side is 20 px keeping the aspect ratio (Lanczos, anti-aliased), and rescale so
   the brightest pixel is 1.
5. Paste into a black 28x28 field so that the centre of mass of the intensities lies at pixel
   (14, 14), as in MNIST; parts pushed
   outside the field by a lopsided digit are cut off.

A uniform picture (including a 1x1 image) has no ink: it becomes an all-black 28x28 image, which
``is_blank`` recognises; predict and the demo report it as holding no digit instead of
classifying it.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from data.errors import DigitImageError

MAX_PIXELS = 50_000_000  # width * height; a 48-megapixel phone photo still fits
SUPPORTED_FORMATS = ("PNG", "JPEG")
INK_THRESHOLD = 0.25
FIELD = 28
# Why a blank picture gets no prediction (predict's CSV and stderr).
NO_DIGIT = "blank image: no digit found (the picture is one uniform colour)"
BOX = 20
CENTRE = 14.0


def load_digit_image(path: str | Path) -> np.ndarray:
    """Read a PNG/JPEG digit and return it MNIST-style: float32, shape (28, 28), values in [0, 1].

    Args:
        path: the image file (any size, grey or colour, with or without alpha, 8 or 16 bit).

    Raises:
        DigitImageError: the file is empty, not a PNG/JPEG, larger than ``MAX_PIXELS`` or
            cannot be decoded; the message names the file and the reason.
    """
    grey = _read_grey(Path(path))
    return mnist_like(grey)


def is_blank(digit: np.ndarray) -> bool:
    """Whether a converted (28, 28) digit has no ink at all: the picture was one uniform colour,
    so any class the model gave it would be a guess."""
    return not digit.any()


def picture_to_digit(image: Image.Image) -> np.ndarray:
    """Steps 2 to 5 on an already decoded picture (e.g. a drawing): float32 (28, 28) in [0, 1]."""
    return mnist_like(_to_grey(ImageOps.exif_transpose(image)))


def _read_grey(path: Path) -> np.ndarray:
    """Decode ``path`` to grey float64 values in [0, 1], shape (height, width)."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise DigitImageError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    if size == 0:
        raise DigitImageError(f"{path}: empty file")
    try:
        with warnings.catch_warnings():
            # PIL warns above its own, higher limit; ours below refuses such images anyway.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                _check_header(path, image)
                return _to_grey(ImageOps.exif_transpose(image))
    except UnidentifiedImageError:
        raise DigitImageError(f"{path}: not an image (expected PNG or JPEG)") from None
    except Image.DecompressionBombError as exc:
        raise DigitImageError(f"{path}: image too large ({exc})") from None
    except DigitImageError:
        raise
    except (OSError, SyntaxError, ValueError) as exc:
        raise DigitImageError(f"{path}: cannot decode the image ({exc})") from None


def _check_header(path: Path, image: Image.Image) -> None:
    """Refuse by format and declared size, read from the header before any pixel is decoded."""
    if image.format not in SUPPORTED_FORMATS:
        raise DigitImageError(
            f"{path}: unsupported image format {image.format} (expected PNG or JPEG)"
        )
    width, height = image.size
    if width * height > MAX_PIXELS:
        raise DigitImageError(
            f"{path}: image too large ({width}x{height} = {width * height} pixels; "
            f"the limit is {MAX_PIXELS})"
        )


def _to_grey(image: Image.Image) -> np.ndarray:
    """Grey float64 in [0, 1], shape (height, width), transparency flattened (see step 2)."""
    if image.mode == "P":
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
    if image.mode.startswith("I"):  # 16-bit (or 32-bit) grey
        return np.clip(np.asarray(image, dtype=np.float64) / 65535.0, 0.0, 1.0)
    alpha = None
    if image.mode in ("RGBA", "LA", "La", "RGBa", "PA") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        alpha = np.asarray(rgba.getchannel("A"), dtype=np.float64) / 255.0
        image = rgba.convert("RGB")
    luma = np.asarray(image.convert("L"), dtype=np.float64) / 255.0
    if alpha is None or alpha.min() >= 1.0:
        return luma
    opaque = alpha > 0.5
    strokes_are_dark = opaque.any() and luma[opaque].mean() < 0.5
    background = 1.0 if strokes_are_dark else 0.0
    return luma * alpha + background * (1.0 - alpha)


def mnist_like(grey: np.ndarray) -> np.ndarray:
    """Steps 3 to 5 on grey values in [0, 1], shape (height, width) -> float32 (28, 28)."""
    grey = np.asarray(grey, dtype=np.float64)
    border = np.concatenate([grey[0], grey[-1], grey[:, 0], grey[:, -1]])
    if border.mean() > 0.5:
        grey, border = 1.0 - grey, 1.0 - border
    ink = grey - np.median(border)
    peak = ink.max()
    field = np.zeros((FIELD, FIELD), dtype=np.float32)
    if peak <= 1e-6:
        return field
    ink = np.clip(ink / peak, 0.0, 1.0)
    rows = np.flatnonzero((ink >= INK_THRESHOLD).any(axis=1))
    cols = np.flatnonzero((ink >= INK_THRESHOLD).any(axis=0))
    ink = ink[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    patch = _fit_in_box(ink)
    _paste_centred(field, patch)
    return field


def _fit_in_box(ink: np.ndarray) -> np.ndarray:
    """Resize so the longer side is ``BOX`` px, aspect kept; float32, brightest pixel 1."""
    height, width = ink.shape
    scale = BOX / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    resized = Image.fromarray(ink.astype(np.float32)).resize(size, Image.Resampling.LANCZOS)
    patch = np.clip(np.asarray(resized, dtype=np.float32), 0.0, None)
    return patch / patch.max() if patch.max() > 0 else patch


def _paste_centred(field: np.ndarray, patch: np.ndarray) -> None:
    """Write ``patch`` into ``field`` so its centre of mass sits at (CENTRE, CENTRE), clipped."""
    mass = patch.sum()
    rows, cols = np.arange(patch.shape[0]), np.arange(patch.shape[1])
    centre_row = (patch.sum(axis=1) * rows).sum() / mass
    centre_col = (patch.sum(axis=0) * cols).sum() / mass
    top, left = int(round(CENTRE - centre_row)), int(round(CENTRE - centre_col))
    src_top, src_left = max(0, -top), max(0, -left)
    dst_top, dst_left = max(0, top), max(0, left)
    height = min(patch.shape[0] - src_top, FIELD - dst_top)
    width = min(patch.shape[1] - src_left, FIELD - dst_left)
    field[dst_top : dst_top + height, dst_left : dst_left + width] = np.clip(
        patch[src_top : src_top + height, src_left : src_left + width], 0.0, 1.0
    )
