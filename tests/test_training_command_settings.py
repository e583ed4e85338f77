"""training.command_settings: the model settings a command gives itself, wherever it gives them
(a config file before or after the subcommand, a section file or text, single options)."""

from __future__ import annotations

from pathlib import Path

import pytest

from lightning_module.training.command_settings import given_model_settings
from lightning_module.training.config_files import check_config_files


def settings_of(argv: list[str], subcommand: str = "test") -> set[str]:
    return given_model_settings(argv, check_config_files(argv), subcommand)


@pytest.fixture
def files(tmp_path) -> dict[str, str]:
    written = {
        "after.yaml": "model:\n  cell: gru\n  hidden_size: 128\ndata:\n  batch_size: 10\n",
        "top.yaml": "test:\n  model:\n    class_path: x\n    init_args:\n      num_layers: 2\n"
        "fit:\n  model:\n    lr: 0.1\n",
        "section.yaml": "pixels_per_step: 56\n",
    }
    for name, text in written.items():
        (tmp_path / name).write_text(text)
    return {f"@{Path(name).stem}": str(tmp_path / name) for name in written}


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["test", "--config", "@after"], {"cell", "hidden_size"}),
        (["test", "-c=@after"], {"cell", "hidden_size"}),
        (["--config", "@top", "test"], {"num_layers"}),  # only the subcommand's part
        (["test", "--model", "@section"], {"pixels_per_step"}),
        (["test", "--model", "{hidden_size: 4, dropout: 0.1}"], {"hidden_size", "dropout"}),
        (["test", "--model.init_args.lr=0.5", "--model.permute", "true"], {"lr", "permute"}),
        (["test", "--data.batch_size", "10", "--trainer.max_epochs", "1"], set()),
        (
            ["--config", "@top", "test", "--config", "@after", "--model.lr", "1"],
            {"num_layers", "cell", "hidden_size", "lr"},
        ),
    ],
)
def test_the_settings_a_command_gives_are_found_where_it_gives_them(files, argv, expected):
    for name, path in files.items():  # @name: that file's path
        argv = [token.replace(name, path) for token in argv]
    assert settings_of(argv) == expected


def test_a_dict_of_arguments_is_read_by_its_subcommand_section():
    given = {"test": {"model": {"cell": "rnn", "init_args": {"hidden_size": 3}}}}
    assert given_model_settings(given, {}, "test") == {"cell", "hidden_size"}
    assert given_model_settings({"model": {"lr": 1}}, {}, "fit") == {"lr"}
