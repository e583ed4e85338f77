"""Running a learner's function safely: its exception pointed at the learner's own line, its
inputs compared before and after the call, and the earlier exercises it calls swapped out.

Shape legend: N batch, D input, H hidden, C classes (the arrays named in an error's report).
"""

from __future__ import annotations

import contextlib
import io
import re
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

# Frames inside these folders are not the learner's: an error is reported at the last frame
# outside them, which is the learner's line that called into numpy or the package.
_NOT_THE_LEARNERS = (
    str(Path(np.__file__).resolve().parent),
    str(Path(__file__).resolve().parents[1]),
)
# Shape errors read the same whether the learner wrote ``a @ b`` or ``np.dot(a, b)``.
_SIZE_PAIR = (
    re.compile(r"(\d+) \(dim \d+\) != (\d+) \(dim \d+\)"),
    re.compile(r"size (\d+) is different from (\d+)"),
)
_SHAPE = re.compile(r"\((\d+(?:,\s*\d+)*),?\)")
_NAME_ON_LINE = re.compile(r"""([A-Za-z_]\w*)(?:\[["'](\w+)["']\])?""")
MAX_ARRAYS_SHOWN = 6


@dataclass(frozen=True)
class Raised:
    """What a call raised: the exception, and the learner's line with its arrays' shapes.

    Attributes:
        error: the exception. line: ``(line number, source)`` of the learner's frame, or None.
        shapes: ``(name, shape)`` of the arrays named on that line, from that frame.
    """

    error: BaseException
    line: tuple | None = None
    shapes: tuple = ()

    @property
    def stub(self) -> bool:
        """The exercise is not written yet (its ``NotImplementedError`` stub raised)."""
        return isinstance(self.error, NotImplementedError)

    def describe(self) -> str:
        text = f"raised {type(self.error).__name__}: {self.error}"
        if self.stub or self.line is None:
            return text
        number, source = self.line
        text += f"\n      at your line {number}: {source}" if source else f" (line {number})"
        if self.shapes:
            text += "\n      there: " + ", ".join(f"{name} {shape}" for name, shape in self.shapes)
        return text

    def signature(self) -> tuple:
        """What identifies this error across ways of writing the same operation."""
        message = str(self.error)
        for pattern in _SIZE_PAIR:
            found = pattern.search(message)
            if found:
                return type(self.error), frozenset(found.groups())
        shapes = _SHAPE.findall(message)
        if shapes:
            return type(self.error), frozenset(s.replace(" ", "") for s in shapes)
        return type(self.error), message


def _is_learners(filename: str) -> bool:
    try:
        path = str(Path(filename).resolve())
    except (OSError, ValueError):
        return True
    return not path.startswith(_NOT_THE_LEARNERS)


def _arrays_on_line(source: str, frame) -> tuple:
    """``(name, shape)`` of the arrays a line names (``x`` or ``params["weight_ih"]``)."""
    found = {}
    for name, key in _NAME_ON_LINE.findall(source):
        value = frame.f_locals.get(name)
        if key and isinstance(value, dict):
            name, value = f'{name}["{key}"]', value.get(key)
        if isinstance(value, np.ndarray) and name not in found:
            found[name] = tuple(value.shape)
    return tuple(found.items())[:MAX_ARRAYS_SHOWN]


def raised(error: BaseException) -> Raised:
    """A :class:`Raised` for ``error``, located at the learner's last frame in its traceback."""
    frames = list(traceback.walk_tb(error.__traceback__))
    summaries = traceback.StackSummary.extract(iter(frames), capture_locals=False)
    mine = [i for i, summary in enumerate(summaries) if _is_learners(summary.filename)]
    if not mine:
        return Raised(error, (summaries[-1].lineno, summaries[-1].line) if summaries else None)
    index = mine[-1]
    source = (summaries[index].line or "").strip()
    return Raised(
        error, (summaries[index].lineno, source), _arrays_on_line(source, frames[index][0])
    )


def call_printing(fn: Callable, *args, **kwargs) -> tuple:
    """``(fn(*args, **kwargs), what it printed)``, or a :class:`Raised` for its exception."""
    printed = io.StringIO()
    try:
        with contextlib.redirect_stdout(printed):
            return fn(*args, **kwargs), printed.getvalue()
    except Exception as error:  # the learner's code may raise anything: report it, never raise
        return raised(error), printed.getvalue()


def call(fn: Callable, *args, **kwargs):
    """``fn(*args, **kwargs)`` with its printing muted, or a :class:`Raised` for its exception."""
    return call_printing(fn, *args, **kwargs)[0]


def copy(value):
    """A deep copy of nested tuples, lists and dicts of arrays (so a call cannot change them)."""
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, dict):
        return {key: copy(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(copy(item) for item in value)
    return value


def flatten(name: str, value) -> dict:
    """Named leaves of a value: dict entries become ``name['key']``, sequence items ``name[i]``."""
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            out.update(flatten(f"{name}[{key!r}]", item))
        return out
    if isinstance(value, list | tuple):
        out = {}
        for i, item in enumerate(value):
            out.update(flatten(f"{name}[{i}]", item))
        return out
    return {name: value}


def changed_inputs(names, before: tuple, after: tuple) -> list:
    """The parts of the arguments (named ``names``) that differ between two snapshots."""
    changed = []
    for name, old, new in zip(names, before, after, strict=False):
        new_parts = flatten(name, new)
        for part, value in flatten(name, old).items():
            if isinstance(value, np.ndarray):
                other = new_parts.get(part)
                same = isinstance(other, np.ndarray) and other.shape == value.shape
                if not (same and np.array_equal(other, value, equal_nan=True)):
                    changed.append(part)
    return changed


@contextlib.contextmanager
def replaced_global(fn: Callable, name: str, value):
    """Make ``fn`` see ``value`` under the global ``name`` (its module's or notebook's); yields
    whether ``fn``'s globals have that name at all."""
    namespace = getattr(fn, "__globals__", None)
    if namespace is None or name not in namespace:
        yield False
        return
    original = namespace[name]
    namespace[name] = value
    try:
        yield True
    finally:
        namespace[name] = original


@contextlib.contextmanager
def package_versions(fn: Callable, names: dict):
    """Make ``fn`` call the package's functions under these global names, where it calls them,
    so that a check tests ``fn`` alone and not the learner's earlier exercises."""
    with contextlib.ExitStack() as stack:
        for name, value in names.items():
            stack.enter_context(replaced_global(fn, name, value))
        yield
