"""Checking one exercise: run the learner's function and the reference on each case, compare
every output, notice changed inputs, and find the slips of the reference that reproduce it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from rnn_reference.checking.compare import close, difference
from rnn_reference.checking.progress import record
from rnn_reference.checking.report import CaseReport, CheckResult
from rnn_reference.checking.running import (
    Raised,
    call,
    changed_inputs,
    copy,
    flatten,
    package_versions,
)
from rnn_reference.checking.slips import Slip, discover

INPLACE_CAUSE = (
    "your function changes its input {parts} in place (e.g. `h[:] = ...` or `h += ...`), which "
    "overwrites the caller's array: assign a new array instead (`h = ...`)"
)


@dataclass(frozen=True)
class Case:
    """One call of the exercise: a label for the report, the arguments, keyword arguments."""

    label: str
    args: tuple
    kwargs: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Exercise:
    """What a check needs to know about one exercise.

    Attributes:
        name: the function's name. arguments: its argument names. outputs: its results' names.
        primary: the results a mistake must reproduce to be named (caches are left out: their
            content under a mistake is a matter of taste; they count when all else is right).
        reference: the package's function. slippable: the reference written with slips.
        slots: ``(regex, meaning)`` pairs naming the parts of the results, e.g.
            ``(r"cache\\[4\\]", "y, the logits")``.
        isolate: global name -> the package's function, for the earlier exercises it calls.
        note: said with a pass.
    """

    name: str
    arguments: tuple
    outputs: tuple
    primary: tuple
    reference: Callable
    slippable: Callable
    slots: tuple = ()
    isolate: dict = field(default_factory=dict)
    note: str = ""

    def describe(self, part: str) -> str:
        """``part (its meaning)``, e.g. ``cache[4] (y, the logits)``."""
        for pattern, meaning in self.slots:
            found = re.fullmatch(pattern, part)
            if found:
                return f"{part} ({meaning.format(*found.groups())})"
        return part


def _unpack(value, names) -> dict | str:
    """The results by name, or why they can't be split into ``names``."""
    if isinstance(value, tuple | list) and len(value) == len(names):
        return dict(zip(names, value, strict=True))
    got = f"{len(value)} values" if isinstance(value, tuple | list) else type(value).__name__
    return f"must return {len(names)} values ({', '.join(names)}); got {got}"


def _compare(exercise: Exercise, case: Case, mine, reference) -> CaseReport:
    if isinstance(mine, Raised):
        return CaseReport(
            case.label, float("inf"), (mine.describe(),), (type(mine.error).__name__,)
        )
    unpacked = _unpack(mine, exercise.outputs)
    if isinstance(unpacked, str):
        return CaseReport(case.label, float("inf"), (unpacked,), ("what it returns",))
    wanted = dict(zip(exercise.outputs, reference, strict=True))
    problems, kind, worst = [], [], 0.0
    for name in exercise.outputs:
        expected, got = flatten(name, wanted[name]), flatten(name, unpacked[name])
        if set(got) != set(expected):
            shown = list(expected) if len(expected) <= 8 else [*list(expected)[:8], "..."]
            problems.append(
                f"{exercise.describe(name)} has the wrong structure: expected {shown}"
                if len(expected) > 1
                else f"{exercise.describe(name)} is a {type(unpacked[name]).__name__}, not an array"
            )
            kind.append(name)
            worst = float("inf")
            continue
        for part, value in expected.items():
            message, error = difference(got[part], value)
            worst = max(worst, error)
            if message is not None:
                problems.append(f"{exercise.describe(part)} {message}")
                kind.append(part)
    return CaseReport(case.label, worst, tuple(problems), tuple(kind))


def _agrees(exercise: Exercise, mine, variant, reference) -> bool:
    """``mine`` is what ``variant`` returns: the same error, or the same primary results (all
    results, when the primary ones are right)."""
    if isinstance(mine, Raised) or isinstance(variant, Raised):
        return (
            isinstance(mine, Raised)
            and isinstance(variant, Raised)
            and mine.signature() == variant.signature()
        )
    mine, variant = _unpack(mine, exercise.outputs), _unpack(variant, exercise.outputs)
    if isinstance(mine, str) or isinstance(variant, str):
        return False
    wanted = dict(zip(exercise.outputs, reference, strict=True))

    def same(a, b, names) -> bool:
        for name in names:
            pa, pb = flatten(name, a[name]), flatten(name, b[name])
            if set(pa) != set(pb):
                return False
            for part, value in pb.items():
                try:
                    if not close(pa[part], value):
                        return False
                except (TypeError, ValueError):
                    return False
        return True

    names = exercise.primary if not same(mine, wanted, exercise.primary) else exercise.outputs
    return same(mine, variant, names)


def causes_of(exercise: Exercise, cases, mine: list, references: list) -> list:
    """The causes of the one-term changes of the reference that return what ``mine`` did.

    Where several do, those that also reproduce the caches are kept; and a match on errors
    alone (every case raised the same shape error) counts only when it is the only one.
    """
    if all(isinstance(m, Raised) and m.stub for m in mine):
        return []
    calls = [(case.args, case.kwargs) for case in cases]
    everything = Exercise(**{**vars(exercise), "primary": exercise.outputs})
    matched = {}  # cause -> (agrees on every output, agrees on a value and not just errors)
    for term, alternative, cause in discover(exercise.slippable, calls):
        slip, full, valued = {term: alternative}, True, False
        for case, my_outputs, reference in zip(cases, mine, references, strict=True):
            variant = call(exercise.slippable, *copy(case.args), slip=Slip(slip), **case.kwargs)
            if not _agrees(exercise, my_outputs, variant, reference):
                break
            full = full and _agrees(everything, my_outputs, variant, reference)
            valued = valued or not isinstance(my_outputs, Raised)
        else:
            old_full, old_valued = matched.get(cause, (False, False))
            matched[cause] = (full or old_full, valued or old_valued)
    if len(matched) > 1:
        matched = {c: v for c, v in matched.items() if v[1]}
    if len(matched) > 1 and any(full for full, _ in matched.values()):
        matched = {c: v for c, v in matched.items() if v[0]}
    return list(matched)


def check_exercise(exercise: Exercise, fn: Callable, cases) -> CheckResult:
    """Run ``fn`` on every case and report what differs from the reference, and why."""
    reports, mine, references, changed = [], [], [], []
    for case in cases:
        reference = exercise.reference(*copy(case.args), **case.kwargs)
        theirs, pristine = copy(case.args), copy(case.args)
        with package_versions(fn, exercise.isolate):
            outputs = call(fn, *theirs, **case.kwargs)
        report = _compare(exercise, case, outputs, reference)
        moved = changed_inputs(exercise.arguments, pristine, theirs)
        if moved:
            changed += moved
            problem = f"it changed its input {', '.join(moved)} in place"
            report = CaseReport(
                report.label,
                report.worst_relative_error,
                (*report.problems, problem),
                (*report.kind, "inputs changed"),
            )
        reports.append(report)
        mine.append(outputs)
        references.append(reference)
    causes = []
    if changed:
        causes.append(INPLACE_CAUSE.format(parts=", ".join(dict.fromkeys(changed))))
    if any(set(report.kind) - {"inputs changed"} for report in reports):
        causes += causes_of(exercise, cases, mine, references)
    result = CheckResult(exercise.name, tuple(reports), tuple(causes), note=exercise.note)
    record(exercise.name, result.passed)
    return result
