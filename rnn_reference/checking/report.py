"""The outcome of a check and the report a learner reads: the verdict and the likely cause first,
then the first failing case in full and the other cases in one line.
"""

from __future__ import annotations

from dataclasses import dataclass

MAX_PROBLEMS = 6  # wrong outputs listed for the first failing case


@dataclass(frozen=True)
class CaseReport:
    """One case of a check: its label, and what went wrong (nothing when it passed).

    Attributes:
        label: the case's shapes (or scenario). worst_relative_error: over the compared outputs.
        problems: one line per wrong output. kind: what identifies the way it failed (the wrong
            outputs' names, or the exception's type), to say "the same way" of other cases.
    """

    label: str
    worst_relative_error: float = 0.0
    problems: tuple = ()
    kind: tuple = ()

    @property
    def passed(self) -> bool:
        return not self.problems


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one checker: ``passed``, and a readable report as ``str(result)``.

    Attributes:
        name: the function checked. cases: one :class:`CaseReport` per case.
        causes: the mistakes that reproduce what the function returned (the hints).
        note: an extra line for a pass (e.g. which earlier exercises were the package's).
        compares: the cases compare values (so a worst relative error is worth reporting).
    """

    name: str
    cases: tuple
    causes: tuple = ()
    note: str = ""
    compares: bool = True

    @property
    def passed(self) -> bool:
        return bool(self.cases) and all(case.passed for case in self.cases)

    @property
    def worst_relative_error(self) -> float:
        return max(case.worst_relative_error for case in self.cases)

    @property
    def all_hints(self) -> list:
        return list(self.causes)

    def report(self) -> str:
        total = len(self.cases)
        if self.passed:
            error = (
                f" (worst relative error {self.worst_relative_error:.1e})" if self.compares else ""
            )
            note = f"; {self.note}" if self.note else ""
            return f"{self.name}: PASSED on {total} cases{error}{note}"
        failing = [case for case in self.cases if not case.passed]
        lines = [f"{self.name}: FAILED on {len(failing)} of {total} cases"]
        lines += [f"  HINT: {cause}" for cause in self.causes]
        first, others = failing[0], failing[1:]
        lines.append(f"  First failing case, {first.label}:")
        lines += [f"    - {problem}" for problem in first.problems[:MAX_PROBLEMS]]
        if len(first.problems) > MAX_PROBLEMS:
            more = len(first.problems) - MAX_PROBLEMS
            lines.append(f"    - and {more} more wrong output{'s' if more > 1 else ''}")
        same = [case.label for case in others if case.kind == first.kind]
        different = [case for case in others if case.kind != first.kind]
        if same:
            lines.append(f"  Also failing, the same way: {'; '.join(same)}")
        for case in different:
            lines.append(f"  Also failing, {case.label}: {', '.join(case.kind)}")
        passing = [case.label for case in self.cases if case.passed]
        if passing:
            lines.append(f"  Passing: {'; '.join(passing)}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.report()

    def __repr__(self) -> str:
        return self.report()

    def _repr_pretty_(self, printer, cycle) -> None:
        printer.text(self.report())
