"""Per-row readouts of pretrained models on the test set: accuracy after each row, and figures.

``scripts/plot_readouts.py`` writes them to ``docs/`` (PNG) and ``results/readouts.{json,md}``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from matplotlib.figure import Figure

from data import MNISTDataModule
from lightning_module.model import RecurrentClassifier
from lightning_module.training.figures import readout_figure, row_accuracy_figure
from lightning_module.training.row_accuracy import RowAccuracy
from lightning_module.utils.atomic import atomic_output, atomic_write_text

ACCURACY_FIGURE = "readout_accuracy_by_row.png"
EXAMPLES_FIGURE = "readout_examples.png"


def load_test_batches(
    data_dir: str | Path | None, batch_size: int = 100
) -> list[tuple[torch.Tensor, ...]]:
    """The test split of ``data_dir`` (default ``$MNIST_DATA_DIR``) as (images, labels) batches."""
    data = MNISTDataModule(data_dir=str(data_dir) if data_dir else None, batch_size=batch_size)
    data.prepare_data()
    data.setup("test")
    return list(data.test_dataloader())


def accuracy_by_row(
    model: RecurrentClassifier, batches: list[tuple[torch.Tensor, ...]]
) -> list[float]:
    """(T,) accuracies of ``model``'s readout after each step over ``batches``."""
    metric = RowAccuracy(model.net.num_steps)
    with torch.no_grad():
        for images, labels in batches:
            metric.update(model.net.readout(images)[0], labels)
    return metric.compute().tolist()


def examples_figure(
    model: RecurrentClassifier, name: str, images: torch.Tensor, labels: torch.Tensor
) -> Figure:
    with torch.no_grad():
        probabilities, hidden = model.net.readout(images)
    return readout_figure(
        images, probabilities, hidden, f"{name}: what it would say after each row", labels
    )


def markdown_table(report: dict[str, Any]) -> str:
    names = list(report["models"])
    lines = [
        "# Test accuracy after each row read",
        "",
        f"Command: `{report['command']}`",
        "",
        f"Each model's output layer applied after every row of the {report['images']:,} test "
        "images (it was trained on the last row only).",
        "",
        "| rows read | " + " | ".join(names) + " |",
        "|---:|" + "---:|" * len(names),
    ]
    steps = len(next(iter(report["models"].values()))["accuracy_by_row"])
    for step in range(steps):
        cells = [f"{100 * report['models'][n]['accuracy_by_row'][step]:.2f}%" for n in names]
        lines.append(f"| {step + 1} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def save_png(figure: Figure, path: Path) -> Path:
    with atomic_output(path) as temporary:
        figure.savefig(temporary, format="png", dpi=110)
    return path


def plot_readouts(
    models: dict[str, RecurrentClassifier],
    batches: list[tuple[torch.Tensor, ...]],
    docs_dir: str | Path,
    results_dir: str | Path,
    command: str,
    example_model: str,
    examples: int = 4,
) -> list[Path]:
    """Compute every model's accuracy after each row and write the figures and tables.

    Returns the written paths: the accuracy plot and the example digits (``example_model``'s
    readout of the first ``examples`` test images) in ``docs_dir``, and
    ``readouts.{json,md}`` in ``results_dir``.
    """
    if example_model not in models:
        raise ValueError(f"--example-model must be one of {sorted(models)}, got {example_model!r}")
    report: dict[str, Any] = {
        "command": command,
        "images": sum(len(labels) for _, labels in batches),
        "models": {},
    }
    for name, model in models.items():
        report["models"][name] = {
            "cell": model.hparams.cell,
            "hidden_size": model.hparams.hidden_size,
            "accuracy_by_row": accuracy_by_row(model, batches),
        }
    curves = {name: row["accuracy_by_row"] for name, row in report["models"].items()}
    images, labels = batches[0]
    docs_dir, results_dir = Path(docs_dir), Path(results_dir)
    return [
        save_png(
            row_accuracy_figure(curves, "test accuracy after each row read"),
            docs_dir / ACCURACY_FIGURE,
        ),
        save_png(
            examples_figure(
                models[example_model], example_model, images[:examples], labels[:examples]
            ),
            docs_dir / EXAMPLES_FIGURE,
        ),
        atomic_write_text(results_dir / "readouts.json", json.dumps(report, indent=2) + "\n"),
        atomic_write_text(results_dir / "readouts.md", markdown_table(report)),
    ]
