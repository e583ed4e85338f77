"""What the demo page shows for one picture: the prediction, its readout figure, the 28x28 input.

Pictures go through ``data.images``, the conversion ``rnn-mnist predict`` uses; an unreadable or
blank picture becomes a message for the page, never an exception.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image

from data.errors import DigitImageError
from data.images import is_blank, load_digit_image, picture_to_digit
from lightning_module.model import RecurrentClassifier
from lightning_module.pretrained import load_cards
from lightning_module.training.figures import readout_figure

NO_INPUT = "Draw a digit or upload a PNG or JPEG picture of one."
BLANK = (
    "No digit found: the picture is blank (one uniform colour). Draw a digit or upload a "
    "picture of one."
)
PREVIEW_SCALE = 6  # the 28x28 input, shown 168 px wide


@dataclass
class Reading:
    """The page's outputs for one picture; on failure only ``message`` is set."""

    message: str
    probabilities: dict[str, float] | None = None
    digit: np.ndarray | None = None  # (28 * PREVIEW_SCALE, same) uint8: what the model sees
    figure: np.ndarray | None = None  # (height, width, 4) uint8 RGBA: the readout figure
    seconds: float | None = None


def render(figure: Figure) -> np.ndarray:
    """A matplotlib figure as an RGBA uint8 array (height, width, 4)."""
    canvas = FigureCanvasAgg(figure)
    canvas.draw()
    return np.asarray(canvas.buffer_rgba()).copy()


class DigitReader:
    """Classify single pictures with the shipped pretrained models (each loaded on first use)."""

    def __init__(self) -> None:
        self.cards = load_cards()
        self._models: dict[str, RecurrentClassifier] = {}

    def model(self, name: str) -> RecurrentClassifier:
        if name not in self._models:
            self._models[name] = RecurrentClassifier.pretrained(name)
        return self._models[name]

    def read(self, picture: str | os.PathLike | Image.Image | None, model_name: str) -> Reading:
        """Read ``picture`` (a file path, a decoded PIL image, or None) with ``model_name``."""
        started = time.perf_counter()
        try:
            digit = self._digit(picture)
        except DigitImageError as exc:
            return Reading(f"Could not read the picture: {exc}")
        if digit is None:
            return Reading(NO_INPUT)
        if is_blank(digit):
            return Reading(BLANK)
        model = self.model(model_name)
        with torch.no_grad():
            probabilities, hidden = model.net.readout(torch.from_numpy(digit)[None])
        final = probabilities[0, -1]
        predicted = int(final.argmax())
        figure = render(
            readout_figure(
                torch.from_numpy(digit)[None],
                probabilities,
                hidden,
                f"{model_name}: what it would say after each row",
            )
        )
        seconds = time.perf_counter() - started
        preview = np.kron(digit, np.ones((PREVIEW_SCALE, PREVIEW_SCALE), dtype=np.float32))
        return Reading(
            message=f"Prediction: **{predicted}** ({100 * float(final[predicted]):.1f}%) by "
            f"the {model_name} model, in {1000 * seconds:.0f} ms",
            probabilities={str(c): float(p) for c, p in enumerate(final)},
            digit=(255 * preview).round().astype(np.uint8),
            figure=figure,
            seconds=seconds,
        )

    @staticmethod
    def _digit(picture: str | os.PathLike | Image.Image | None) -> np.ndarray | None:
        if picture is None:
            return None
        if isinstance(picture, Image.Image):
            return picture_to_digit(picture)
        try:
            return load_digit_image(picture)
        except DigitImageError as exc:
            # the upload's temporary folder means nothing to the user; its file name does
            raise DigitImageError(str(exc).replace(str(picture), Path(picture).name)) from None
