"""split_at_double_dash: a script's own options, and the CLI options after the first ``--``."""

from __future__ import annotations

import pytest

from lightning_module.utils.checks import split_at_double_dash


@pytest.mark.parametrize(
    ("argv", "own", "passed_on"),
    [
        (["fast", "--seeds", "2"], ["fast", "--seeds", "2"], []),
        (["fast", "--", "--model.lr", "0.1"], ["fast"], ["--model.lr", "0.1"]),
        (["--", "--trainer.max_epochs", "1"], [], ["--trainer.max_epochs", "1"]),
        (["fast", "--"], ["fast"], []),
        (["a", "--", "b", "--", "c"], ["a"], ["b", "--", "c"]),  # only the first splits
    ],
)
def test_the_first_double_dash_splits(argv, own, passed_on):
    assert split_at_double_dash(argv) == (own, passed_on)
