"""PyTorch Lightning side of rnn-mnist: the network, the LightningModule and the CLI.

Reading order: ``network`` (the plain nn.Module), ``model`` (the LightningModule), ``cli``.
Subpackages: ``gru`` (FusedGRU and its C++ recurrence), ``training`` (what the CLI wires into
the Trainer), ``utils`` (shared, Lightning-free),
``pretrained`` (the shipped models and their cards), ``demo`` (the ``rnn-mnist demo`` page).
The public names load on first use, so ``lightning_module.gru`` and ``network`` load without
Lightning.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__all__ = ["RecurrentClassifier", "SequenceClassifierNet", "__version__"]

_LAZY = {
    "RecurrentClassifier": "lightning_module.model",
    "SequenceClassifierNet": "lightning_module.network",
}

if TYPE_CHECKING:
    from lightning_module.model import RecurrentClassifier
    from lightning_module.network import SequenceClassifierNet


def __getattr__(name: str) -> Any:
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version("rnn-mnist")
        except PackageNotFoundError:
            return "unknown"
    if name in _LAZY:
        value = getattr(import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'lightning_module' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])
