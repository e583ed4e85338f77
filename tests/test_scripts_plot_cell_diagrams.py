"""scripts/plot_cell_diagrams.py writes the two diagrams notebook 2 shows, as checked in."""

from __future__ import annotations

from pathlib import Path

from PIL import Image
from scripts_loader import load_script

ROOT = Path(__file__).resolve().parents[1]


def test_the_script_writes_both_diagrams_as_the_checked_in_images_are(tmp_path):
    script = load_script("plot_cell_diagrams")
    assert script.main(["--out-dir", str(tmp_path / "images")]) == 0
    for name in ("gru_cell.png", "lstm_cell.png"):
        written = Image.open(tmp_path / "images" / name)
        checked_in = Image.open(ROOT / "notebooks" / "images" / name)
        assert written.format == checked_in.format == "PNG"
        assert written.size == checked_in.size
