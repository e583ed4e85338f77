"""The practical's two training figures from a run's TensorBoard logs.

    python scripts/plot_curves.py runs/lstm/version_0

writes ``loss.png`` (train/val loss per epoch) and ``accuracy.png`` (train/val accuracy per
epoch) into the run folder (or ``--out``). Lightning logs each epoch-level value at the global
step where the epoch ended, along with an ``epoch`` scalar at the same step; the step is mapped
back to its epoch through that scalar (epochs counted from 1, as the practical printed them).
"""

from __future__ import annotations

from pathlib import Path

from matplotlib.figure import Figure
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from lightning_module.utils.atomic import atomic_output

FIGURES = {
    "loss": ("train_loss", "val_loss"),
    "accuracy": ("train_acc", "val_acc"),
}


def find_event_folder(run_dir: str | Path) -> Path:
    """The folder holding the run's event files: ``run_dir`` itself, or its newest
    ``version_*`` subfolder when given a run name folder such as ``runs/lstm``."""
    folder = Path(run_dir)
    if not folder.is_dir():
        raise FileNotFoundError(f"RUN_DIR {str(folder)!r} is not a folder")
    if any(folder.glob("events.out.tfevents.*")):
        return folder
    versions = [p for p in folder.glob("version_*") if any(p.glob("events.out.tfevents.*"))]
    if not versions:
        raise FileNotFoundError(
            f"no TensorBoard event files (events.out.tfevents.*) in {str(folder)!r} or its "
            "version_* subfolders: pass a run folder such as runs/lstm/version_0"
        )
    return max(versions, key=lambda p: int(p.name.split("_")[-1]) if p.name[8:].isdigit() else -1)


def read_epoch_curves(
    run_dir: str | Path, tags: tuple[str, ...]
) -> dict[str, list[tuple[int, float]]]:
    """Read scalar ``tags`` as (epoch starting at 1, value) lists, one value per epoch.

    Raises:
        ValueError: when a tag or the ``epoch`` scalar is missing, naming it and the tags found.
    """
    folder = find_event_folder(run_dir)
    events = EventAccumulator(str(folder), size_guidance={"scalars": 0})
    events.Reload()
    available = set(events.Tags()["scalars"])
    missing = [tag for tag in ("epoch", *tags) if tag not in available]
    if missing:
        raise ValueError(
            f"{str(folder)!r} has no scalar {missing[0]!r} (found: {sorted(available)})"
        )
    epoch_at_step = {event.step: int(round(event.value)) for event in events.Scalars("epoch")}
    curves = {}
    for tag in tags:
        per_epoch: dict[int, float] = {}
        for event in events.Scalars(tag):
            if event.step in epoch_at_step:  # the latest value of an epoch wins (e.g. on resume)
                per_epoch[epoch_at_step[event.step] + 1] = event.value
        curves[tag] = sorted(per_epoch.items())
    return curves


def curve_figure(curves: dict[str, list[tuple[int, float]]], y_label: str) -> Figure:
    """One axes with a line per curve, labelled by its split ("train", "val"), x = epoch."""
    figure = Figure(figsize=(6, 4))
    axes = figure.add_subplot()
    for tag, points in curves.items():
        epochs = [epoch for epoch, _ in points]
        values = [value for _, value in points]
        axes.plot(epochs, values, marker="o", markersize=3, label=tag.split("_")[0])
    axes.set_xlabel("epoch")
    axes.set_ylabel(y_label)
    axes.legend(loc="best")
    axes.grid(alpha=0.3)
    figure.tight_layout()
    return figure


def plot_curves(run_dir: str | Path, out_dir: str | Path | None = None) -> list[Path]:
    """Write ``loss.png`` and ``accuracy.png`` for the run and return their paths."""
    folder = find_event_folder(run_dir)
    target = Path(out_dir) if out_dir is not None else folder
    written = []
    for name, tags in FIGURES.items():
        figure = curve_figure(read_epoch_curves(folder, tags), name)
        path = target / f"{name}.png"
        with atomic_output(path) as temporary:
            figure.savefig(temporary, format="png", dpi=120)
        written.append(path)
    return written
