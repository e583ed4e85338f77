"""The learner's progress through the notebooks' exercises in this Python session: every check
records its verdict, and :func:`progress` lists them for one notebook.
"""

from __future__ import annotations

# The exercises of each notebook, in the order they come. Notebook 3's are checked by its own
# cells (they need torch), which record their verdicts with :func:`record`.
EXERCISES = {
    1: ("cell_fn_forward", "rnn_forward", "cell_fn_backward", "bptt", "rnn_gradient_check"),
    2: ("gru_step_forward", "gru_step_backward", "lstm_step_forward", "lstm_step_backward"),
    3: (
        "RowByRowClassifier.__init__",
        "RowByRowClassifier.forward",
        "PracticalClassifier.loss",
        "PracticalClassifier",
        "train_epoch",
    ),
}

_verdicts: dict = {}


def record(exercise: str, passed: bool) -> None:
    """Remember the latest verdict on ``exercise`` (one of :data:`EXERCISES`' names)."""
    if not any(exercise in names for names in EXERCISES.values()):
        known = [name for names in EXERCISES.values() for name in names]
        raise ValueError(f"unknown exercise {exercise!r}; the exercises are {known}")
    _verdicts[exercise] = bool(passed)


def is_exercise(name: str) -> bool:
    """Whether ``name`` is one of :data:`EXERCISES`' names."""
    return any(name in names for names in EXERCISES.values())


def forget() -> None:
    """Forget every verdict (as in a fresh Python session)."""
    _verdicts.clear()


def progress(notebook: int) -> tuple:
    """Print one line per exercise of ``notebook`` (1, 2 or 3) and a summary line.

    Returns:
        ``(passed, total)``: how many of the notebook's exercises passed their latest check in
        this Python session, and how many it has.
    """
    if notebook not in EXERCISES:
        raise ValueError(f"notebook must be one of {sorted(EXERCISES)}; got {notebook!r}")
    names = EXERCISES[notebook]
    for name in names:
        verdict = _verdicts.get(name)
        if verdict:
            print(f"  [x] {name}: passed")
        elif verdict is None:
            print(f"  [ ] {name}: not checked yet")
        else:
            print(f"  [ ] {name}: not passing yet (its last check found a problem)")
    passed = sum(bool(_verdicts.get(name)) for name in names)
    print(f"notebook {notebook}: {passed}/{len(names)} exercises pass")
    return passed, len(names)
