"""Unusable ``--config`` files through the ``rnn-mnist`` CLI: one line naming the file, exit 2.

Each case checks the exit code, the one ``rnn-mnist: error: --config <file>: ...`` line on
stderr, the absence of a traceback, and that nothing was written.
"""

from __future__ import annotations

import time

import pytest
from cli_process import rnn_mnist
from cli_runs import files_under, run_main
from scripts_loader import CONFIG_DIR
from tiny_cli import tiny_args

from lightning_module.training.config_files import check_config_files
from lightning_module.utils.bounded_yaml import MAX_NODES, load_yaml

pytestmark = pytest.mark.filterwarnings("ignore:LightningCLI's args parameter")


def alias_bomb(levels: int = 9) -> str:
    """A "billion laughs": each level a list of nine aliases to the level below."""
    lines = ["a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for level in range(1, levels):
        lines.append(f"a{level}: &a{level} [{', '.join([f'*a{level - 1}'] * 9)}]")
    return "\n".join([*lines, f"seed_everything: *a{levels - 1}", ""])


# (file name, its bytes, what the message must say after "--config <file>: ")
BAD_FILES = [
    ("empty.yaml", b"", "the file is empty (or only comments); expected a mapping of sections"),
    ("comments.yaml", b"# nothing here\n\n# at all\n", "the file is empty (or only comments)"),
    ("list.yaml", b"- model\n- data\n", "holds a list, expected a mapping of sections"),
    ("model_list.yaml", b"model:\n  - cell\n", "model: holds a list, expected a mapping of model"),
    ("model_number.yaml", b"model: 3\n", "model: holds int 3, expected a mapping of model"),
    ("model_null.yaml", b"model:\n", "model: holds nothing (null), expected a mapping of model"),
    ("data_text.yaml", b"data: mnist\n", "data: holds str 'mnist', expected a mapping of data"),
    ("trainer_list.yaml", b"trainer:\n  - 1\n", "trainer: holds a list, expected a mapping"),
    (
        "early_stopping_number.yaml",
        b"early_stopping: 5\n",
        "early_stopping: holds int 5, expected a mapping of early_stopping settings",
    ),
    (
        "callbacks.yaml",
        b"trainer:\n  callbacks: [3]\n",
        "trainer.callbacks: holds a list, expected a list of callbacks, each a class path or",
    ),
    (
        "duplicate.yaml",
        b"model:\n  cell: lstm\n  hidden_size: 8\n  cell: gru\n",
        "duplicate key 'cell' at line 4 (first at line 2); a key may appear once per mapping",
    ),
    (
        "flow.yaml",
        b"data: {batch_size: 5, batch_size: 6}\n",
        "duplicate key 'batch_size' at line 1",
    ),
    ("latin1.yaml", b"model:\n  cell: \xe9\n", "not UTF-8 text (byte 0xe9 at offset 15)"),
    ("broken.yaml", b"model:\n  cell: [lstm\n", "not valid YAML: "),
    ("bomb.yaml", alias_bomb().encode(), f"its aliases expand to more than {MAX_NODES} values"),
    ("huge.yaml", b"#" * (2 << 20), "larger than 1048576 bytes, not a config file"),
]


@pytest.mark.parametrize(("name", "blob", "expected"), BAD_FILES, ids=[f[0] for f in BAD_FILES])
def test_an_unusable_config_file_is_one_line_naming_it_and_nothing_is_written(
    name, blob, expected, tmp_path, capsys, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    (tmp_path / name).write_bytes(blob)
    before = files_under(tmp_path)
    started = time.perf_counter()
    code, err = run_main(["fit", "--config", name, *tiny_args(tmp_path, tmp_path / "runs")], capsys)
    assert time.perf_counter() - started < 10  # the alias bomb included
    assert code == 2
    assert err.splitlines() == [err.strip()], err  # one line
    assert err.startswith(f"rnn-mnist: error: --config {name}: {expected}"), err
    assert files_under(tmp_path) == before
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize("where", ["missing.yaml", "a_folder"])
def test_a_config_that_is_missing_or_a_folder_is_refused_naming_it(where, tmp_path, capsys):
    (tmp_path / "a_folder").mkdir()
    path = tmp_path / where
    code, err = run_main(["fit", "--config", str(path)], capsys)
    assert code == 2
    what = "no such file" if where == "missing.yaml" else "is a folder, expected a YAML file"
    assert err == f"rnn-mnist: error: --config {path}: {what}\n"


# (options, the file written first as name: text, the one error line after "rnn-mnist: error: ")
PARSER_ERRORS = [
    (
        ["--config", "a.yaml"],
        ("a.yaml", "model:\n  celll: gru\n"),
        "--config a.yaml: Subcommand 'fit' does not accept option 'model.celll'",
    ),
    (
        ["-c", "a.yaml"],
        ("a.yaml", "model:\n  hidden_size: many\n"),
        "--config a.yaml: Parser key \"model.hidden_size\": Expected a <class 'int'>. Got value: "
        "many",
    ),
    (
        ["--config", "a.yaml", "--model.hidden_size", "many"],
        ("a.yaml", "model:\n  hidden_size: 8\n"),
        "Parser key \"model.hidden_size\": Expected a <class 'int'>. Got value: many",
    ),
    (
        ["--trainer", "t.yaml"],
        ("t.yaml", "- max_epochs\n"),
        "--trainer t.yaml: holds a list, expected a mapping of trainer settings (name: value, "
        "one per line)",
    ),
    (
        ["--config", "a.yaml"],
        ("a.yaml", "modle:\n  cell: gru\n"),
        "--config a.yaml: Subcommand 'fit' does not accept option 'modle.cell'",
    ),
]


@pytest.mark.parametrize(
    ("options", "file", "expected"), PARSER_ERRORS, ids=[" ".join(e[0]) for e in PARSER_ERRORS]
)
def test_a_parser_error_is_one_line_naming_the_file_that_set_the_key(
    options, file, expected, tmp_path, capsys, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    (tmp_path / file[0]).write_text(file[1])
    code, err = run_main(["fit", *options], capsys)
    assert code == 2
    assert err == f"rnn-mnist: error: {expected}\n"
    assert [path.name for path in tmp_path.iterdir()] == [file[0]]


def test_a_top_level_config_is_checked_under_its_subcommand(tmp_path, capsys):
    path = tmp_path / "top.yaml"
    path.write_text("fit:\n  model: [1]\n")
    code, err = run_main(["--config", str(path), "fit"], capsys)
    assert code == 2
    assert err.startswith(f"rnn-mnist: error: --config {path}: fit.model: holds a list")


def test_a_recursive_alias_is_refused():
    with pytest.raises(ValueError, match="a recursive alias at line 1"):
        load_yaml("a: &a [1, *a]\n")


def test_aliases_within_the_bound_and_merge_keys_load_as_safe_load_does():
    text = "base: &base {cell: gru, hidden_size: 8}\nmodel:\n  <<: *base\n  hidden_size: 16\n"
    assert load_yaml(text)["model"] == {"cell": "gru", "hidden_size": 16}


def test_every_shipped_config_passes_the_check_and_an_inline_config_is_still_accepted():
    argv = ["fit", *(arg for path in CONFIG_DIR.glob("*.yaml") for arg in ("--config", path))]
    contents = check_config_files([str(arg) for arg in argv])
    assert len(contents) == len(list(CONFIG_DIR.glob("*.yaml"))) >= 7
    assert all(isinstance(content, dict) for content in contents.values())
    inline = check_config_files(["fit", "--config", '{"model": {"cell": "rnn"}}'])
    assert list(inline.values()) == [{"model": {"cell": "rnn"}}]


def test_the_console_script_refuses_a_duplicate_key_in_one_line(tmp_path):
    (tmp_path / "twice.yaml").write_text("trainer:\n  max_epochs: 3\n  max_epochs: 4\n")
    result = rnn_mnist("fit", "--config", "twice.yaml", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr == (
        "rnn-mnist: error: --config twice.yaml: duplicate key 'max_epochs' at line 3 (first at "
        "line 2); a key may appear once per mapping\n"
    )
    assert [path.name for path in tmp_path.iterdir()] == ["twice.yaml"]
