"""The wheel: the packages, FusedGRU's C++ source and the pretrained models; no scripts, tools
(``scripts/lab``) or tests."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


def test_the_wheel_ships_packages_cpp_source_and_pretrained_models_but_not_scripts_lab_or_tests(
    tmp_path,
):
    if importlib.util.find_spec("setuptools") is None:
        pytest.skip("setuptools is not installed, so the wheel can't be built offline")
    # build from a copy: setuptools writes build/ and *.egg-info/ next to pyproject.toml
    source = tmp_path / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO_ROOT / name, source / name)
    for package in ("rnn_reference", "lightning_module", "data", "scripts", "tests"):
        shutil.copytree(
            REPO_ROOT / package, source / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            str(source),
            "--no-deps",
            "--no-build-isolation",
            "--quiet",
            "--wheel-dir",
            str(tmp_path / "wheel"),
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    (wheel,) = (tmp_path / "wheel").glob("rnn_mnist-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    top_level = {name.split("/")[0] for name in names if "dist-info" not in name}
    assert top_level == {"rnn_reference", "lightning_module", "data"}
    assert "lightning_module/gru/csrc/gru_recurrence.cpp" in names
    assert "lightning_module/gru/build.py" in names
    for module in ("training/guards.py", "utils/checks.py", "demo/app.py"):
        assert f"lightning_module/{module}" in names
    # the measurement and reproduction tools live in scripts/lab, beside the scripts, only
    assert not [name for name in names if "lab/" in name or "tools/" in name]
    # the pretrained models, byte for byte, and their cards
    cards = json.loads(zipfile.ZipFile(wheel).read("lightning_module/pretrained/cards.json"))
    assert sorted(cards["models"]) == ["gru", "lstm", "practical", "rnn"]
    for card in cards["models"].values():
        shipped = zipfile.ZipFile(wheel).read(f"lightning_module/pretrained/{card['file']}")
        assert hashlib.sha256(shipped).hexdigest() == card["sha256"]
    metadata = next(n for n in names if n.endswith("dist-info/METADATA"))
    # PEP 639's SPDX expression: setuptools no longer supports the license table after 2027-02-18
    assert "License-Expression: MIT" in zipfile.ZipFile(wheel).read(metadata).decode()
    entry_points = next(n for n in names if n.endswith("dist-info/entry_points.txt"))
    assert (
        "rnn-mnist = lightning_module.cli:command"
        in zipfile.ZipFile(wheel).read(entry_points).decode()
    )
