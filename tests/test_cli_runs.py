"""Run folders: every fit writes only into its own ``<root>/<name>/version_<n>/``.

A second fit leaves the first one's files byte for byte; concurrent fits (subprocesses) claim
different folders; ``latest`` and ``--ckpt_path best`` / ``last`` name the newest run;
``--trainer.default_root_dir`` decides where everything goes.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from tiny_cli import tiny_args

from lightning_module import RecurrentClassifier
from lightning_module.cli import console_command, main, run_cli
from lightning_module.training import run_folders
from lightning_module.training.run_folders import claim_run_folder, newest_with, point_latest

pytestmark = pytest.mark.filterwarnings("ignore:LightningCLI's args parameter")

REPO = Path(__file__).resolve().parents[1]


def digests(folder: Path) -> dict[str, str]:
    """sha256 of every file under ``folder``, by relative path."""
    return {
        path.relative_to(folder).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def one_epoch(data: Path, runs: Path) -> list[str]:
    return ["fit", *tiny_args(data, runs), "--trainer.max_epochs", "1"]


def test_a_second_fit_of_the_same_config_leaves_the_first_runs_files_byte_identical(
    mnist_dir, tmp_path, capsys
):
    runs = tmp_path / "runs"
    first = run_cli(one_epoch(mnist_dir, runs))
    run_0 = runs / "tiny" / "version_0"
    assert first.run_folder == run_0
    before = digests(run_0)
    assert {"checkpoints/best.ckpt", "checkpoints/last.ckpt", "config.yaml"} <= before.keys()
    assert any(name.startswith("events.out.tfevents.") for name in before)

    second = run_cli(one_epoch(mnist_dir, runs))
    run_1 = runs / "tiny" / "version_1"
    assert second.run_folder == run_1
    assert digests(run_0) == before
    assert {"checkpoints/best.ckpt", "checkpoints/last.ckpt"} <= digests(run_1).keys()
    assert second.trainer.checkpoint_callback.best_model_path == str(
        run_1.resolve() / "checkpoints" / "best.ckpt"
    )
    assert os.readlink(runs / "tiny" / "latest") == "version_1"
    out = capsys.readouterr().out
    assert f"run folder: {run_1}" in out
    assert f"checkpoints: {run_1.resolve() / 'checkpoints'}" in out
    assert f"tensorboard --logdir {runs / 'tiny'}" in out


def start_fit(args: list[str], cwd: Path) -> subprocess.Popen:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.Popen(
        [*console_command(), *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def test_two_concurrent_fits_of_one_config_write_into_different_run_folders(mnist_dir, tmp_path):
    runs = tmp_path / "runs"
    processes = [start_fit(one_epoch(mnist_dir, runs), tmp_path) for _ in range(2)]
    outputs = [process.communicate(timeout=300)[0] for process in processes]
    for process, output in zip(processes, outputs, strict=True):
        assert process.returncode == 0, output[-3000:]
    folders = sorted(
        line.split("run folder: ", 1)[1].strip()
        for output in outputs
        for line in output.splitlines()
        if line.startswith("run folder: ")
    )
    expected = [str(runs / "tiny" / "version_0"), str(runs / "tiny" / "version_1")]
    assert folders == expected
    for folder in map(Path, folders):
        files = digests(folder)
        assert {"checkpoints/best.ckpt", "checkpoints/last.ckpt", "config.yaml"} <= files.keys()
        state = torch.load(folder / "checkpoints" / "last.ckpt", weights_only=True)["callbacks"]
        dirpaths = {value["dirpath"] for key, value in state.items() if "ModelCheckpoint" in key}
        assert dirpaths == {str(folder.resolve() / "checkpoints")}  # each wrote its own
    assert sorted(p.name for p in (runs / "tiny").iterdir()) == ["latest", "version_0", "version_1"]


CLAIMER = """
import sys, time
from pathlib import Path
from lightning_module.training.run_folders import claim_run_folder
go = Path(sys.argv[2])
while not go.exists():
    time.sleep(0.001)
for _ in range(10):
    print(claim_run_folder(sys.argv[1]).name, flush=True)
"""


def test_processes_claiming_run_folders_at_the_same_moment_never_get_the_same_one(tmp_path):
    root, go = tmp_path / "root", tmp_path / "go"
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
    }
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", CLAIMER, str(root), str(go)],
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        for _ in range(4)
    ]
    time.sleep(1.0)  # let every process reach the start line
    go.touch()
    claimed = [
        line for process in processes for line in process.communicate(timeout=120)[0].split()
    ]
    assert all(process.returncode == 0 for process in processes)
    assert len(claimed) == 40 and len(set(claimed)) == 40
    assert sorted(claimed, key=lambda name: int(name.split("_")[1])) == [
        f"version_{n}" for n in range(40)
    ]


def test_latest_follows_the_newest_run_and_is_absent_where_symlinks_cannot_be_made(
    tmp_path, monkeypatch
):
    root = tmp_path / "root"
    claim_run_folder(root), claim_run_folder(root)
    assert point_latest(root) is None and not (root / "latest").exists()  # no checkpoint yet
    (root / "version_1" / "checkpoints").mkdir()
    (root / "version_1" / "checkpoints" / "best.ckpt").write_bytes(b"x")
    assert point_latest(root) == root / "latest" and os.readlink(root / "latest") == "version_1"
    assert (root / "latest" / "checkpoints" / "best.ckpt").read_bytes() == b"x"
    claim_run_folder(root)
    assert point_latest(root) == root / "latest" and os.readlink(root / "latest") == "version_1"
    assert newest_with(root, "best.ckpt") == root / "version_1" / "checkpoints" / "best.ckpt"

    def no_symlinks(*args, **kwargs):
        raise OSError(1, "Operation not permitted")

    other = tmp_path / "other"
    (claim_run_folder(other) / "checkpoints").mkdir()
    (other / "version_0" / "checkpoints" / "last.ckpt").write_bytes(b"x")
    monkeypatch.setattr(run_folders.os, "symlink", no_symlinks)
    assert point_latest(other) is None
    assert sorted(p.name for p in other.iterdir()) == ["version_0"]  # no temporary left


def test_a_fit_that_fails_before_its_first_checkpoint_leaves_latest_on_the_run_before(
    mnist_dir, tmp_path, monkeypatch, capsys
):
    runs = tmp_path / "runs"
    run_cli(one_epoch(mnist_dir, runs))
    assert os.readlink(runs / "tiny" / "latest") == "version_0"

    def fails(self):
        raise RuntimeError("failed before the first epoch")

    with monkeypatch.context() as patched:
        patched.setattr(RecurrentClassifier, "on_train_start", fails)
        with pytest.raises(RuntimeError, match="failed before the first epoch"):
            run_cli(one_epoch(mnist_dir, runs))
    assert not (runs / "tiny" / "version_1" / "checkpoints").exists()
    assert os.readlink(runs / "tiny" / "latest") == "version_0"
    resumed = run_cli([*one_epoch(mnist_dir, runs)[:-1], "2", "--ckpt_path", "last"])
    assert resumed.run_folder == runs / "tiny" / "version_0"
    assert os.readlink(runs / "tiny" / "latest") == "version_0"
    assert (runs / "tiny" / "latest" / "checkpoints" / "best.ckpt").is_file()
    capsys.readouterr()


def test_ckpt_path_best_and_last_name_the_newest_runs_checkpoints(mnist_dir, tmp_path, capsys):
    runs = tmp_path / "runs"
    run_cli(one_epoch(mnist_dir, runs))
    run_cli(one_epoch(mnist_dir, runs))
    capsys.readouterr()
    tested = run_cli(["test", *tiny_args(mnist_dir, runs), "--ckpt_path", "best"])
    best = runs / "tiny" / "version_1" / "checkpoints" / "best.ckpt"
    assert tested.config.test.ckpt_path == str(best)
    assert f"--ckpt_path best: {best}" in capsys.readouterr().out
    resumed = run_cli([*one_epoch(mnist_dir, runs)[:-1], "2", "--ckpt_path", "last"])
    assert resumed.run_folder == runs / "tiny" / "version_1"  # resumed in place, no version_2
    # the resumed fit stays in version_1; the test logs beside the runs, in test/
    assert sorted(p.name for p in (runs / "tiny").iterdir()) == [
        "latest",
        "test",
        "version_0",
        "version_1",
    ]
    last = torch.load(best.with_name("last.ckpt"), weights_only=True)
    assert last["epoch"] == 1


def test_ckpt_path_best_without_any_run_is_one_error_line(mnist_dir, tmp_path, capsys):
    code = main(["test", *tiny_args(mnist_dir, tmp_path / "runs"), "--ckpt_path", "best"])
    err = capsys.readouterr().err
    assert code == 2
    runs = (tmp_path / "runs" / "tiny").resolve()
    assert f"rnn-mnist: error: --ckpt_path best: no run under {runs} has checkpoints/best.ckpt" in (
        err
    )
    assert "Traceback" not in err
    assert not (tmp_path / "runs").exists()


def test_default_root_dir_puts_every_file_of_a_configs_run_under_it(
    mnist_dir, tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    elsewhere = tmp_path / "elsewhere"
    cli = run_cli(
        [
            "fit",
            "--config",
            str(REPO / "scripts" / "configs" / "lstm.yaml"),
            *tiny_args(mnist_dir, None, name=None),
            "--model.hidden_size",
            "8",
            "--trainer.max_epochs",
            "1",
            "--trainer.default_root_dir",
            str(elsewhere),
        ]
    )
    assert cli.run_folder == elsewhere / "lstm" / "version_0"
    files = digests(elsewhere)
    assert {
        "lstm/version_0/checkpoints/best.ckpt",
        "lstm/version_0/checkpoints/last.ckpt",
        "lstm/version_0/config.yaml",
        "lstm/version_0/hparams.yaml",
    } <= files.keys()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data", "elsewhere"]  # no ./runs
