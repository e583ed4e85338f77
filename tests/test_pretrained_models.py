"""The pretrained models the package ships: files, cards, loading by name, refusals."""

from __future__ import annotations

import hashlib

import pytest
import torch

from lab.export_pretrained import KEPT_KEYS
from lightning_module import RecurrentClassifier
from lightning_module.pretrained import (
    FOLDER,
    PretrainedModelError,
    known_names,
    load_cards,
    pretrained_checkpoint,
)

NAMES = ["gru", "lstm", "practical", "rnn"]
CONFIG_CELLS = {"rnn": "rnn", "gru": "gru", "lstm": "lstm", "practical": "rnn"}

pytestmark = pytest.mark.filterwarnings("ignore:LightningCLI's args parameter")


def test_the_four_configs_are_shipped_small_weights_only_and_as_their_cards_say():
    assert known_names() == NAMES
    cards = load_cards()
    for name in NAMES:
        card = cards[name]
        path = pretrained_checkpoint(name)
        assert path == FOLDER / f"{name}.ckpt" and path.is_file()
        assert path.stat().st_size == card["bytes"] < 2**20
        assert hashlib.sha256(path.read_bytes()).hexdigest() == card["sha256"]
        checkpoint = torch.load(path, weights_only=True)
        assert set(checkpoint) <= set(KEPT_KEYS) and "optimizer_states" not in checkpoint
        assert card["config"] == name and card["cell"] == CONFIG_CELLS[name]
        assert checkpoint["hyper_parameters"]["cell"] == card["cell"]
        assert checkpoint["hyper_parameters"]["hidden_size"] == card["hidden_size"]
        assert 0 < card["test_acc"] <= 1 and card["best_epoch"] <= card["epochs"]
        assert card["commit"] and "reproduce.py" in card["command"]


@pytest.mark.parametrize("name", NAMES)
def test_pretrained_returns_the_named_model_in_eval_mode_on_the_cpu(name):
    model = RecurrentClassifier.pretrained(name)
    card = load_cards()[name]
    assert isinstance(model, RecurrentClassifier) and not model.training
    assert all(p.device == torch.device("cpu") for p in model.parameters())
    assert (model.hparams.cell, model.hparams.hidden_size) == (card["cell"], card["hidden_size"])
    with torch.no_grad():
        assert model(torch.zeros(2, 28, 28)).shape == (2, 10)


def test_an_unknown_name_is_refused_listing_the_known_ones():
    with pytest.raises(
        PretrainedModelError,
        match=r"unknown pretrained model 'bert' \(known: gru, lstm, practical, rnn\)",
    ):
        RecurrentClassifier.pretrained("bert")
