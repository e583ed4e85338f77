"""The import rules of the layout: each layer loads only what it needs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def modules_loaded_by(code: str) -> set[str]:
    """Top-level module names in ``sys.modules`` after running ``code`` in a fresh interpreter."""
    probe = f"{code}\nimport sys\nprint(' '.join(sorted({{m.split('.')[0] for m in sys.modules}})))"
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, check=True
    )
    return set(result.stdout.split())


@pytest.mark.parametrize(
    ("code", "forbidden"),
    [
        ("import rnn_reference", {"torch", "pytorch_lightning", "lightning", "torchmetrics"}),
        ("from rnn_reference import rnn_gradient_check, bptt", {"torch", "pytorch_lightning"}),
        ("from lightning_module.gru import FusedGRU", {"pytorch_lightning", "lightning"}),
        ("import lightning_module", {"torch", "pytorch_lightning"}),
        ("import lightning_module.utils.atomic", {"torch", "pytorch_lightning"}),
        ("import data", {"lightning_module"}),
        ("import lightning_module.network", {"pytorch_lightning", "lightning", "torchmetrics"}),
        # the tools' package: scripts/ on sys.path, as `python scripts/<name>.py` has it
        ("import lightning_module.training.curves", {"pytorch_lightning"}),
        ("import sys; sys.path.insert(0, 'scripts')\nimport lab.command", {"torch"}),
        # the web page's dependencies load only when the demo runs
        ("import lightning_module.cli", {"gradio", "selenium"}),
        ("import lightning_module.demo.cli", {"gradio"}),
    ],
)
def test_a_layer_does_not_import_the_layers_above_it(code, forbidden):
    assert not modules_loaded_by(code) & forbidden


def test_the_public_names_still_load_on_first_use():
    loaded = modules_loaded_by(
        "import lightning_module\nlightning_module.RecurrentClassifier\n"
        "lightning_module.SequenceClassifierNet"
    )
    assert "pytorch_lightning" in loaded


@pytest.mark.parametrize("script", ["plot_curves", "plot_gradient_norms", "gradient_check"])
def test_scripts_that_only_write_files_do_not_load_lightning(script):
    loaded = modules_loaded_by(
        f"import sys; sys.path.insert(0, 'tests')\n"
        f"from scripts_loader import load_script; load_script({script!r})"
    )
    assert "pytorch_lightning" not in loaded
