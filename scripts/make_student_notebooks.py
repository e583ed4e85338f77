"""Generate the student notebooks from the solution notebooks: the one source of truth.

    python scripts/make_student_notebooks.py          # writes notebooks/student/*.ipynb
    python scripts/make_student_notebooks.py --check  # exit 1 if they differ from the sources

In every code cell of ``notebooks/*.ipynb``, the lines from ``# BEGIN SOLUTION: <pointer>`` to
``# END SOLUTION`` become ``raise NotImplementedError("IMPLEMENT-ME: <pointer>")`` at the
marker's indentation. In markdown cells, relative links (images, docs) are rewritten to point
to the same files from ``notebooks/student/``, except links to a sibling notebook, which then
open the student copy. Everything else is copied as it is (outputs cleared), and the notebooks
are written as Jupyter writes them (one-space indent, sorted keys), so the output depends only
on the sources.
"""

from __future__ import annotations

import argparse
import json
import posixpath
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCE_DIR = ROOT / "notebooks"
STUDENT_DIR = SOURCE_DIR / "student"
BEGIN = re.compile(r"^(?P<indent>\s*)# BEGIN SOLUTION: (?P<pointer>\S.*?)\s*$")
END = re.compile(r"^\s*# END SOLUTION\s*$")
EXERCISE_PREFIX = "IMPLEMENT-ME: "
LINE_LENGTH = 100  # the project's (pyproject.toml [tool.ruff])


# a markdown link or image, ``[text](target)`` / ``![text](target)``: group 2 is the target
MARKDOWN_LINK = re.compile(r"(!?\[[^\]]*\]\()([^)\s]+)(\))")
URL_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
CODE = re.compile(r"(```.*?```|`[^`\n]*`)", re.DOTALL)  # one capture group: split keeps them


class MarkerError(ValueError):
    """A solution marker without its partner, or nested in another."""


def stub(indent: str, pointer: str) -> str:
    """The ``raise`` that replaces a solution block, wrapped as ruff formats it when too long."""
    message = f'"{EXERCISE_PREFIX}{pointer}"'
    line = f"{indent}raise NotImplementedError({message})\n"
    if len(line) - 1 <= LINE_LENGTH:
        return line
    return f"{indent}raise NotImplementedError(\n{indent}    {message}\n{indent})\n"


def strip_solutions(source: str, where: str = "cell") -> tuple[str, list[str]]:
    """Replace each marked solution block by its ``raise NotImplementedError``.

    Args:
        source: a code cell's source. where: names the cell in error messages.

    Returns:
        The new source and the pointers of the blocks replaced, in order.
    """
    out, pointers, inside = [], [], False
    for number, line in enumerate(source.splitlines(keepends=True), start=1):
        begin = BEGIN.match(line)
        if begin:
            if inside:
                raise MarkerError(f"{where}, line {number}: BEGIN SOLUTION inside another block")
            if '"' in begin["pointer"] or "\\" in begin["pointer"]:
                raise MarkerError(f"{where}, line {number}: the pointer may not hold '\"' or '\\'")
            inside = True
            pointers.append(begin["pointer"])
            out.append(stub(begin["indent"], begin["pointer"]))
        elif END.match(line):
            if not inside:
                raise MarkerError(f"{where}, line {number}: END SOLUTION without BEGIN SOLUTION")
            inside = False
        elif line.strip().startswith("# BEGIN SOLUTION"):
            raise MarkerError(f"{where}, line {number}: write '# BEGIN SOLUTION: <pointer>'")
        elif not inside:
            out.append(line)
    if inside:
        raise MarkerError(f"{where}: BEGIN SOLUTION without END SOLUTION")
    text = "".join(out)
    if not source.endswith("\n"):
        text = text.removesuffix("\n")
    return text, pointers


def student_link(target: str) -> str:
    """``target``, a link in a solution notebook, as the student copy one folder down needs it:
    relative paths gain a ``../``; URLs, anchors, absolute paths and sibling notebooks (whose
    student copies sit next to the student notebook) stay as they are."""
    path, hash_, anchor = target.partition("#")
    if not path or URL_SCHEME.match(path) or path.startswith("/"):
        return target
    if "/" not in path and path.endswith(".ipynb"):
        return target
    return posixpath.normpath(posixpath.join("..", path)) + hash_ + anchor


def student_markdown(source: str) -> str:
    """A markdown cell's source with every relative link rewritten by :func:`student_link`
    (code, fenced or inline, is left alone)."""
    parts = CODE.split(source)
    for index in range(0, len(parts), 2):  # the odd ones are code
        parts[index] = MARKDOWN_LINK.sub(lambda m: m[1] + student_link(m[2]) + m[3], parts[index])
    return "".join(parts)


def split_lines(text: str) -> list[str]:
    return text.splitlines(keepends=True)


def student_notebook(notebook: dict, name: str) -> dict:
    """The student version of one notebook (a new dict; ``notebook`` is left as it is)."""
    cells = []
    for index, cell in enumerate(notebook["cells"]):
        cell = json.loads(json.dumps(cell))
        if cell["cell_type"] == "code":
            source = "".join(cell["source"])
            stripped, _ = strip_solutions(source, f"{name}, cell {index}")
            cell["source"] = split_lines(stripped)
            cell["outputs"] = []
            cell["execution_count"] = None
        elif cell["cell_type"] == "markdown":
            cell["source"] = split_lines(student_markdown("".join(cell["source"])))
        cells.append(cell)
    return dict(notebook, cells=cells)


def dumps(notebook: dict) -> str:
    """The notebook's text as Jupyter writes it."""
    return json.dumps(notebook, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def generate(source_dir: Path | None = None) -> dict[str, str]:
    """``{file name: student notebook text}`` for every solution notebook of ``source_dir``
    (default: the repository's ``notebooks``)."""
    generated = {}
    for path in sorted((SOURCE_DIR if source_dir is None else source_dir).glob("*.ipynb")):
        notebook = json.loads(path.read_text(encoding="utf-8"))
        generated[path.name] = dumps(student_notebook(notebook, path.name))
    return generated


def differences(generated: dict[str, str], student_dir: Path | None = None) -> list[str]:
    """What differs between ``generated`` and the files in ``student_dir`` (default: the
    repository's ``notebooks/student``); empty when they are in sync."""
    student_dir = STUDENT_DIR if student_dir is None else student_dir
    found = []
    on_disk = {path.name for path in student_dir.glob("*.ipynb")} if student_dir.is_dir() else set()
    for name, text in generated.items():
        path = student_dir / name
        if not path.is_file():
            found.append(f"{name}: missing")
        elif path.read_text(encoding="utf-8") != text:
            found.append(f"{name}: differs from its generated version")
    found += [f"{name}: has no solution notebook" for name in sorted(on_disk - set(generated))]
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--check", action="store_true", help="write nothing; exit 1 if the students' are stale"
    )
    args = parser.parse_args(argv)
    try:
        generated = generate()
    except MarkerError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if not generated:
        print(f"error: no notebooks in {SOURCE_DIR}", file=sys.stderr)
        return 2
    if args.check:
        stale = differences(generated)
        for line in stale:
            print(line)
        if stale:
            print("run: python scripts/make_student_notebooks.py")
            return 1
        print(f"{len(generated)} student notebooks are up to date")
        return 0
    STUDENT_DIR.mkdir(exist_ok=True)
    for name, text in generated.items():
        (STUDENT_DIR / name).write_text(text, encoding="utf-8")
    for line in differences(generated):  # only students without a source remain
        print(f"warning: {line}", file=sys.stderr)
    print(f"wrote {len(generated)} student notebooks to {STUDENT_DIR.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
