"""Atomic checkpoint and file writes: a failed save leaves the previous file intact."""

from __future__ import annotations

import pytest
import torch

from lightning_module.training.checkpoint_io import AtomicTorchCheckpointIO
from lightning_module.utils.atomic import atomic_write_text


def test_atomic_checkpoint_io_writes_a_loadable_checkpoint_and_no_temporary_file(tmp_path):
    path = tmp_path / "sub" / "last.ckpt"
    AtomicTorchCheckpointIO().save_checkpoint({"epoch": 3, "w": torch.ones(2)}, path)
    loaded = torch.load(path, weights_only=True)
    assert loaded["epoch"] == 3 and torch.equal(loaded["w"], torch.ones(2))
    assert [p.name for p in path.parent.iterdir()] == ["last.ckpt"]


def test_a_save_that_fails_midway_leaves_the_previous_checkpoint_intact(tmp_path, monkeypatch):
    path = tmp_path / "last.ckpt"
    io = AtomicTorchCheckpointIO()
    io.save_checkpoint({"epoch": 1}, path)

    def broken_save(obj, f, *args, **kwargs):
        f.write(b"half a checkpoint")
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", broken_save)
    with pytest.raises(OSError, match="disk full"):
        io.save_checkpoint({"epoch": 2}, path)
    monkeypatch.undo()
    assert torch.load(path, weights_only=True)["epoch"] == 1
    assert [p.name for p in tmp_path.iterdir()] == ["last.ckpt"]


def test_atomic_write_text_replaces_the_file_and_keeps_it_on_failure(tmp_path, monkeypatch):
    path = tmp_path / "out.csv"
    atomic_write_text(path, "a\n")
    atomic_write_text(path, "b\n")
    assert path.read_text() == "b\n"
    assert oct(path.stat().st_mode & 0o777) != oct(0o600)  # not mkstemp's private mode

    real_write_text = type(path).write_text

    def broken_write(self, text, encoding=None):
        real_write_text(self, text[: len(text) // 2 + 1], encoding=encoding)  # half, then fail
        raise OSError("no space")

    monkeypatch.setattr(type(path), "write_text", broken_write)
    with pytest.raises(OSError, match="no space"):
        atomic_write_text(path, "c\n")
    monkeypatch.undo()
    assert path.read_text() == "b\n"
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]
