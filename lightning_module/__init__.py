"""PyTorch Lightning side of rnn-mnist: the recurrent classifier, its CLI and helpers."""

from lightning_module.model import RecurrentClassifier
from lightning_module.network import SequenceClassifierNet

__all__ = ["RecurrentClassifier", "SequenceClassifierNet"]
