"""The training configs the tools run: a name such as ``lstm`` means
``scripts/configs/lstm.yaml``, a YAML path itself; every tool checks all of them first."""

from __future__ import annotations

from pathlib import Path

CONFIG_DIR = Path(__file__).resolve().parents[1] / "configs"


def resolve_config(name_or_path: str, config_dir: str | Path = CONFIG_DIR) -> Path:
    """A config name (``lstm``) means ``<config_dir>/lstm.yaml``; a ``.yaml`` path is itself."""
    config_dir = Path(config_dir)
    candidate = Path(name_or_path)
    if candidate.suffix not in (".yaml", ".yml"):
        candidate = config_dir / f"{name_or_path}.yaml"
    if not candidate.is_file():
        known = sorted(path.stem for path in config_dir.glob("*.yaml"))
        raise FileNotFoundError(f"config {name_or_path!r} not found: {candidate} (known: {known})")
    return candidate
