"""The progress cell's function: every check records its verdict, and progress(notebook) lists
the notebook's exercises, passed or not yet, with a summary line."""

from __future__ import annotations

import pytest

from rnn_reference import checks, gru, practical
from rnn_reference.checking import progress as progress_module


@pytest.fixture(autouse=True)
def fresh_session():
    progress_module.forget()
    yield
    progress_module.forget()


def broken(*args, **kwargs):
    raise ValueError("a bug")


def test_a_fresh_session_has_nothing_passed(capsys):
    assert checks.progress(1) == (0, 5)
    out = capsys.readouterr().out.splitlines()
    assert out[:5] == [f"  [ ] {name}: not checked yet" for name in checks.EXERCISES[1]]
    assert out[5] == "notebook 1: 0/5 exercises pass"


def test_checks_record_their_latest_verdict(capsys):
    assert checks.check_cell_fn_forward(practical.cell_fn_forward).passed
    assert checks.check_rnn_forward(practical.rnn_forward).passed
    checks.check_cell_fn_backward(broken)
    assert checks.progress(1) == (2, 5)
    out = capsys.readouterr().out
    assert "  [x] cell_fn_forward: passed\n  [x] rnn_forward: passed\n" in out
    assert "  [ ] cell_fn_backward: not passing yet (its last check found a problem)" in out
    assert "  [ ] bptt: not checked yet" in out
    assert out.rstrip().endswith("notebook 1: 2/5 exercises pass")
    # a later failure takes a pass back
    checks.check_rnn_forward(broken)
    assert checks.progress(1) == (1, 5)


def test_each_notebook_counts_its_own_exercises(capsys):
    checks.check_gru_step_forward(gru.gru_step_forward)
    checks.check_gru_step_backward(gru.gru_step_backward)
    assert checks.progress(2) == (2, 4)
    assert checks.progress(1) == (0, 5)
    assert "notebook 2: 2/4 exercises pass" in capsys.readouterr().out


def test_notebook_3_records_its_own_checks(capsys):
    for name in checks.EXERCISES[3]:
        checks.record(name, True)
    assert checks.progress(3) == (5, 5)
    assert "notebook 3: 5/5 exercises pass" in capsys.readouterr().out


def test_every_checker_records_under_its_exercise_name():
    for name, (check, reference) in checks.REFERENCES.items():
        check(reference)
        assert progress_module._verdicts[name] is True


def test_unknown_notebooks_and_exercises_are_refused():
    with pytest.raises(ValueError, match="notebook must be one of"):
        checks.progress(4)
    with pytest.raises(ValueError, match="unknown exercise 'cell_forward'"):
        checks.record("cell_forward", True)


def test_notebook_3s_checks_record_their_verdicts_for_its_progress_cell(capsys):
    import torch

    from rnn_reference import torch_checks
    from rnn_reference.checking.progress import forget, progress
    from rnn_reference.exercises import checking

    forget()
    torch_checks.check_network_layers(torch_checks.ReferenceClassifier)
    torch_checks.check_network_forward(torch_checks.ReferenceClassifier)
    with checking("PracticalClassifier.loss"):
        torch.testing.assert_close(torch.ones(1), torch.ones(1))
    with checking("PracticalClassifier"):
        raise NotImplementedError("IMPLEMENT-ME: the training step")
    assert progress(3) == (3, 5)
    shown = capsys.readouterr().out
    assert "[x] RowByRowClassifier.__init__: passed" in shown
    assert "[ ] PracticalClassifier: not passing yet" in shown
    assert "[ ] train_epoch: not checked yet" in shown
    forget()
