"""The practical's notebooks: stored clean, students generated from the solutions, and both run.

Solution notebooks run top to bottom without an error, every check in them reporting PASSED.
Student notebooks, untouched, also run top to bottom without an error ("Run All" reaches the
end): a cell tagged ``needs-exercise`` must report FAILED on a learner's
``NotImplementedError("IMPLEMENT-ME: ...")``, and every exercise's stub must be reached by a
check of its own. Every relative link in every notebook resolves, and every command the
classifier notebook prints runs, against the checkpoint the notebook's own run produced.
"""

from __future__ import annotations

import ast
import csv
import json
import os
import re
import shlex
import sys
from pathlib import Path

import nbclient
import nbformat
import pytest
import yaml
from scripts_loader import CONFIG_DIR, load_script
from synthetic_mnist import write_synthetic_mnist

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
SOLUTIONS = sorted(NOTEBOOKS.glob("*.ipynb"))
STUDENTS = sorted((NOTEBOOKS / "student").glob("*.ipynb"))
NEEDS_EXERCISE = "needs-exercise"
CLI_COMMANDS = "cli-commands"  # the tag of the classifier notebook's cell printing its commands
CLASSIFIER = NOTEBOOKS / "3_recurrent_classifier.ipynb"
# a markdown link or image target, outside code
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")
CODE = re.compile(r"```.*?```|`[^`\n]*`", re.DOTALL)
UNWRITTEN_NOTE = re.compile(r"note: .* is not written yet \((IMPLEMENT-ME: .*?)\); using")
STUB = re.compile(r'raise NotImplementedError\(\s*"(IMPLEMENT-ME: [^"]+)"\s*\)')
CELL_TIMEOUT_S = 240

make_student = load_script("make_student_notebooks")


def _load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def _source(cell: dict) -> str:
    return "".join(cell["source"])


def test_the_three_notebooks_of_the_practical_exist_in_order():
    assert [path.name for path in SOLUTIONS] == [
        "1_vanilla_rnn.ipynb",
        "2_gated_cells.ipynb",
        "3_recurrent_classifier.ipynb",
    ]
    assert [path.name for path in STUDENTS] == [path.name for path in SOLUTIONS]


@pytest.mark.parametrize("path", SOLUTIONS + STUDENTS, ids=lambda p: str(p.relative_to(NOTEBOOKS)))
def test_notebooks_are_stored_without_outputs_and_for_python3(path):
    notebook = _load(path)
    assert notebook["metadata"]["kernelspec"]["name"] == "python3"
    for index, cell in enumerate(notebook["cells"]):
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [], f"cell {index} has outputs"
            assert cell["execution_count"] is None, f"cell {index} has an execution count"


def test_student_notebooks_equal_their_generated_versions():
    generated = make_student.generate()
    assert sorted(generated) == [path.name for path in SOLUTIONS]
    assert make_student.differences(generated) == []
    assert make_student.main(["--check"]) == 0


def test_the_check_mode_notices_a_stale_student_notebook(tmp_path, capsys, monkeypatch):
    student_dir = tmp_path / "student"
    student_dir.mkdir()
    generated = make_student.generate()
    for name, text in generated.items():
        (student_dir / name).write_text(text, encoding="utf-8")
    assert make_student.differences(generated, student_dir) == []
    stale = student_dir / SOLUTIONS[0].name
    stale.write_text(stale.read_text(encoding="utf-8").replace("IMPLEMENT-ME", "TODO", 1))
    (student_dir / "4_extra.ipynb").write_text("{}")
    assert make_student.differences(generated, student_dir) == [
        f"{SOLUTIONS[0].name}: differs from its generated version",
        "4_extra.ipynb: has no solution notebook",
    ]
    monkeypatch.setattr(make_student, "STUDENT_DIR", student_dir)
    assert make_student.main(["--check"]) == 1
    assert "run: python scripts/make_student_notebooks.py" in capsys.readouterr().out


def test_solution_blocks_become_stubs_at_their_indentation():
    source = (
        "def f(x):\n"
        "    y = 1\n"
        "    # BEGIN SOLUTION: return x + y\n"
        "    z = x + y\n"
        "    return z\n"
        "    # END SOLUTION\n"
        "print(f)"
    )
    stripped, pointers = make_student.strip_solutions(source)
    stub = '    raise NotImplementedError("IMPLEMENT-ME: return x + y")\n'
    assert stripped == "def f(x):\n    y = 1\n" + stub + "print(f)"
    assert pointers == ["return x + y"]
    long_pointer = "x" * 90
    stripped, _ = make_student.strip_solutions(
        f"# BEGIN SOLUTION: {long_pointer}\npass\n# END SOLUTION\n"
    )
    assert stripped == f'raise NotImplementedError(\n    "IMPLEMENT-ME: {long_pointer}"\n)\n'


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("# BEGIN SOLUTION: a\nx = 1\n", "BEGIN SOLUTION without END SOLUTION"),
        ("x = 1\n# END SOLUTION\n", "line 2: END SOLUTION without BEGIN SOLUTION"),
        ("# BEGIN SOLUTION: a\n# BEGIN SOLUTION: b\n", "line 2: BEGIN SOLUTION inside another"),
        ("# BEGIN SOLUTION\nx = 1\n# END SOLUTION\n", "write '# BEGIN SOLUTION: <pointer>'"),
    ],
)
def test_broken_solution_markers_are_refused(source, message):
    with pytest.raises(make_student.MarkerError, match=re.escape(message)):
        make_student.strip_solutions(source)


@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda p: p.name)
def test_every_exercise_has_a_check_after_it_and_every_question_an_answer(path):
    cells = _load(path)["cells"]
    exercises = [i for i, c in enumerate(cells) if "# BEGIN SOLUTION:" in _source(c)]
    assert exercises, "a notebook of the practical without an exercise"
    for index in exercises:
        later = cells[index + 1 :]
        assert any(NEEDS_EXERCISE in c["metadata"].get("tags", []) for c in later), index
    for index, cell in enumerate(cells):
        if cell["cell_type"] == "markdown" and "QUESTION" in _source(cell):
            answer = cells[index + 1]
            assert _source(answer).startswith("#### Answer"), f"cell {index + 1}"
            assert answer["metadata"]["jupyter"]["source_hidden"] is True


def _links(notebook: dict) -> list[str]:
    found = []
    for cell in notebook["cells"]:
        if cell["cell_type"] == "markdown":
            found += LINK.findall(CODE.sub("", _source(cell)))
    return found


@pytest.mark.parametrize("path", SOLUTIONS + STUDENTS, ids=lambda p: str(p.relative_to(NOTEBOOKS)))
def test_every_relative_link_resolves_from_the_notebooks_own_folder(path):
    links = [link for link in _links(_load(path)) if not re.match(r"^[a-z]+:|^#", link)]
    for link in links:
        target = (path.parent / link.partition("#")[0]).resolve()
        assert target.is_file(), f"{link} -> {target}"
        assert target.is_relative_to(ROOT), link


def test_the_notebooks_link_the_images_they_are_meant_to_show():
    links = {path.name: set(_links(_load(path))) for path in SOLUTIONS}
    assert {"images/gru_cell.png", "images/lstm_cell.png"} <= links["2_gated_cells.ipynb"]
    assert "../docs/readout_accuracy_by_row.png" in links["3_recurrent_classifier.ipynb"]


def test_student_links_are_rewritten_for_their_folder_but_not_in_code():
    assert make_student.student_link("images/a.png") == "../images/a.png"
    assert make_student.student_link("../docs/a.md#part") == "../../docs/a.md#part"
    assert make_student.student_link("2_gated_cells.ipynb") == "2_gated_cells.ipynb"
    assert make_student.student_link("https://example.org/a.png") == "https://example.org/a.png"
    source = "![x](images/a.png) and `f[0](x)` and\n```python\ng[1](y)\n```\n"
    assert make_student.student_markdown(source) == source.replace("(images/", "(../images/")


@pytest.mark.parametrize("path", SOLUTIONS + STUDENTS, ids=lambda p: str(p.relative_to(NOTEBOOKS)))
def test_notebooks_hold_no_placeholder_url_and_no_machine_specific_path(path):
    text = path.read_text(encoding="utf-8")
    assert "<owner>" not in text and "colab" not in text.lower()
    assert "/work/" not in text and "/home/" not in text and "MNIST_DATA_DIR=" not in text


def test_the_first_notebook_starts_with_the_learning_objectives():
    first = _load(SOLUTIONS[0])["cells"][0]
    assert "## Learning objectives" in _source(first)


@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda p: p.name)
def test_every_notebook_ends_with_its_progress_cell(path):
    number = int(path.name[0])
    assert _source(_load(path)["cells"][-1]).strip().endswith(f"progress({number})")


def _settings(cells: list[dict]) -> dict:
    """The classifier notebook's small-run settings: the ``else`` branch of ``if FULL_RUN:``."""
    for cell in cells:
        if "FULL_RUN = False" in _source(cell):
            tree = ast.parse(_source(cell))
            branch = next(n for n in tree.body if isinstance(n, ast.If)).orelse
            values = {}
            for node in branch:
                names = node.targets[0]
                names = names.elts if isinstance(names, ast.Tuple) else [names]
                value = ast.literal_eval(node.value)
                value = value if isinstance(value, tuple) else (value,)
                values.update({n.id: v for n, v in zip(names, value, strict=True)})
            return values
    raise AssertionError("no FULL_RUN settings cell")


def test_the_notebook_config_is_the_classifier_notebooks_small_run():
    settings = _settings(_load(CLASSIFIER)["cells"])
    config = yaml.safe_load((CONFIG_DIR / "notebook.yaml").read_text(encoding="utf-8"))
    assert config["model"]["cell"] == "lstm"
    assert config["model"]["hidden_size"] == settings["HIDDEN"]
    assert config["model"]["lr"] == settings["LR"]
    assert config["model"]["l2_lambda"] == 1e-3
    assert config["data"]["batch_size"] == settings["BATCH_SIZE"]
    assert config["data"]["val_size"] == settings["VAL_SIZE"]
    assert config["data"]["train_fraction"] == settings["TRAIN_FRACTION"]
    assert config["trainer"]["max_epochs"] == settings["MAX_EPOCHS"]
    assert config["trainer"]["limit_test_batches"] == settings["TEST_BATCHES"]
    assert config["early_stopping"] == {"monitor": "val_loss", "patience": 3}
    source = "".join(_source(c) for c in _load(CLASSIFIER)["cells"])
    assert 'EarlyStopping(monitor="val_loss", patience=3)' in source
    assert "l2_lambda=1e-3, lr=LR" in source


# --- execution ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def notebook_env(tmp_path_factory):
    """Environment for the kernels: real MNIST when ``MNIST_DATA_DIR`` is set, else a synthetic
    one; this checkout first on the path; a non-interactive matplotlib; temporary files (the
    classifier notebook's logs and checkpoints) under pytest's temporary folder."""
    env = {
        "MPLBACKEND": "Agg",
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    data = os.environ.get("MNIST_DATA_DIR")
    if not data or not (Path(data) / "MNIST" / "raw").is_dir():
        data = str(write_synthetic_mnist(tmp_path_factory.mktemp("mnist"), 2000, 500))
    env["MNIST_DATA_DIR"] = data
    env["TMPDIR"] = str(tmp_path_factory.mktemp("kernel_tmp"))
    return env


def _execute(path: Path, env: dict, allow_errors: bool) -> dict:
    notebook = nbformat.read(path, as_version=4)
    previous = {name: os.environ.get(name) for name in env}
    os.environ.update(env)
    try:
        client = nbclient.NotebookClient(
            notebook,
            kernel_name="python3",
            timeout=CELL_TIMEOUT_S,
            allow_errors=allow_errors,
            resources={"metadata": {"path": str(path.parent)}},
        )
        client.execute()
    finally:
        for name, value in previous.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    return notebook


def _text(cell) -> str:
    parts = []
    for output in cell.get("outputs", []):
        if output["output_type"] == "stream":
            parts.append(output["text"])
        elif output["output_type"] in ("execute_result", "display_data"):
            parts.append(output["data"].get("text/plain", ""))
        elif output["output_type"] == "error":
            parts.append(f"{output['ename']}: {output['evalue']}")
    return "".join(parts)


def _error(cell):
    return next((o for o in cell.get("outputs", []) if o["output_type"] == "error"), None)


@pytest.mark.slow
def test_the_kernel_is_this_environments_python(tmp_path, notebook_env):
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        nbformat.v4.new_code_cell("import sys, rnn_reference\nprint(sys.executable)"),
        nbformat.v4.new_code_cell("print(rnn_reference.__file__)"),
    ]
    path = tmp_path / "kernel.ipynb"
    nbformat.write(notebook, path)
    executed = _execute(path, notebook_env, allow_errors=False)
    assert Path(_text(executed.cells[0]).strip()).resolve() == Path(sys.executable).resolve()
    assert Path(_text(executed.cells[1]).strip()).is_relative_to(ROOT)


@pytest.fixture(scope="module")
def executed_solution(notebook_env):
    """``path -> the executed solution notebook``, each executed once for this module."""
    done = {}

    def execute(path: Path):
        if path not in done:
            done[path] = _execute(path, notebook_env, allow_errors=False)
        return done[path]

    return execute


@pytest.mark.slow
@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda p: p.name)
def test_solution_notebooks_run_and_every_check_passes(path, executed_solution):
    executed = executed_solution(path)
    checks = 0
    for index, cell in enumerate(executed.cells):
        if cell.cell_type != "code":
            continue
        text = _text(cell)
        assert "FAILED" not in text, f"cell {index}:\n{text}"
        if NEEDS_EXERCISE in cell.metadata.get("tags", []):
            assert "PASSED" in text or not text, f"cell {index}:\n{text}"
            checks += "PASSED" in text
    assert checks >= 1


@pytest.mark.slow
@pytest.mark.parametrize("path", STUDENTS, ids=lambda p: p.name)
def test_untouched_student_notebooks_run_to_the_end_failing_only_their_checks(path, notebook_env):
    # stub -> the index of the exercise cell it is in
    exercise_of = {}
    for index, cell in enumerate(_load(path)["cells"]):
        if cell["cell_type"] == "code":
            exercise_of.update({stub: index for stub in STUB.findall(_source(cell))})
    assert exercise_of, "a student notebook without an exercise"
    stubs = set(exercise_of)
    executed = _execute(path, notebook_env, allow_errors=False)  # "Run All": no cell may raise
    # stub -> the check cells that reported it
    failed_on = {stub: [] for stub in stubs}
    for index, cell in enumerate(executed.cells):
        if cell.cell_type != "code":
            continue
        text = _text(cell)
        for stub in UNWRITTEN_NOTE.findall(text):  # a later cell fell back to the reference
            assert stub in stubs and exercise_of[stub] < index, f"cell {index}:\n{text}"
        if NEEDS_EXERCISE not in cell.metadata.get("tags", []):
            continue
        assert "FAILED" in text and "PASSED" not in text, f"cell {index} without exercises:\n{text}"
        found = {stub for stub in stubs if f"raised NotImplementedError: {stub}" in text}
        assert found, f"cell {index} fails, but not on an exercise:\n{text}"
        for stub in found:
            assert exercise_of[stub] < index, f"cell {index} fails on a later exercise: {stub}"
            failed_on[stub].append(index)
    # every exercise is reached by a check before the next exercise: its own check
    starts = sorted(set(exercise_of.values()))
    for stub, exercise in exercise_of.items():
        following = [start for start in starts if start > exercise]
        end = following[0] if following else len(executed.cells)
        own = [index for index in failed_on[stub] if exercise < index < end]
        assert own, f"no check between cells {exercise} and {end} fails on {stub!r}"


# A full-size experiment's fit, run by the test as a few batches of the same command.
FEW_BATCHES = [
    "--trainer.max_epochs", "1",
    "--trainer.limit_train_batches", "2",
    "--trainer.limit_val_batches", "2",
    "--trainer.limit_test_batches", "2",
    "--data.val_size", "100",
]  # fmt: skip


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:LightningCLI's args parameter")
def test_every_command_the_classifier_notebook_prints_runs(
    executed_solution, notebook_env, tmp_path, monkeypatch
):
    """From a folder laid out as the repository's root (its ``scripts/``), on the notebook's
    data; the test and predict commands read the checkpoint of the notebook's own run."""
    from lightning_module.cli import main

    executed = executed_solution(CLASSIFIER)
    cell = next(c for c in executed.cells if CLI_COMMANDS in c.metadata.get("tags", []))
    commands = [line for line in _text(cell).splitlines() if line.startswith("rnn-mnist ")]
    assert [shlex.split(c)[1] for c in commands] == ["fit", "test", "predict", "fit", "test"]
    notebook_checkpoint = shlex.split(commands[1])[-1]
    assert Path(notebook_checkpoint).is_file()
    assert Path(notebook_checkpoint).is_relative_to(notebook_env["TMPDIR"])
    (tmp_path / "scripts").symlink_to(ROOT / "scripts")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MNIST_DATA_DIR", notebook_env["MNIST_DATA_DIR"])
    for command in commands:
        argv = shlex.split(command)[1:]
        if argv[0] == "fit" and "scripts/configs/notebook.yaml" not in argv:
            argv += FEW_BATCHES
        elif argv[0] == "test":  # the same command on the first 250 test images, not 10000
            argv += ["--trainer.limit_test_batches", "5"]
        assert main(argv) == 0, command
    assert (tmp_path / "runs/notebook/latest/checkpoints/best.ckpt").is_file()
    assert (tmp_path / "runs/lstm/latest/checkpoints/best.ckpt").is_file()
    predictions = shlex.split(commands[2])[-1]
    with open(predictions, newline="", encoding="utf-8") as file:
        assert len(list(csv.DictReader(file))) == 5


@pytest.mark.parametrize(
    "path", SOLUTIONS + STUDENTS, ids=lambda path: path.parent.name + "/" + path.name
)
def test_every_notebook_is_valid_nbformat_with_unique_cell_ids(path):
    # nbformat 4.5 needs a cell id (a missing one is a warning now, an error in future releases)
    notebook = nbformat.read(path, as_version=4)
    nbformat.validate(notebook)
    ids = [cell.get("id") for cell in notebook.cells]
    assert all(ids) and len(set(ids)) == len(ids)
