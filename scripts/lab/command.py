"""Run a Python module of one checkout of this repository in a fresh process: the user's
``rnn-mnist`` command (``python -m lightning_module.cli``) or a tool's worker."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

LAB_FOLDER = Path(__file__).resolve().parents[1]  # scripts/: the process imports lab from here
RNN_MNIST = "lightning_module.cli"  # the module the installed rnn-mnist command runs
KEPT_CHARACTERS = 4000  # of the output's end, for the error message when the process fails


def package_checkout() -> Path:
    """The folder holding the ``lightning_module`` this process imported."""
    import lightning_module

    return Path(lightning_module.__file__).resolve().parents[1]


def run_module(
    module_and_args: Sequence[str], checkout: str | Path, threads: int | None = None
) -> tuple[int, str]:
    """Run ``python -m <module> <args>`` importing ``checkout``'s packages; wait for its end.

    The process starts in ``checkout`` (``-m`` puts the working folder first on ``sys.path``,
    so no other checkout's packages can come first), with ``checkout`` and ``scripts/`` of this
    one on ``PYTHONPATH`` (so the callbacks and workers of ``lab`` are the same whichever
    checkout is measured), and with ``OMP_NUM_THREADS=threads`` unless ``threads`` is None.
    Relative paths among the arguments are read from ``checkout``. Stdout and stderr go to one
    pipe, read as written.

    Returns:
        The exit status and the end of the output.
    """
    checkout = Path(checkout).resolve()
    env = dict(os.environ)
    paths = [str(checkout), str(LAB_FOLDER), env.get("PYTHONPATH", "")]
    env["PYTHONPATH"] = os.pathsep.join(path for path in paths if path)
    if threads is not None:
        env["OMP_NUM_THREADS"] = str(threads)
    done = subprocess.run(
        [sys.executable, "-m", *module_and_args],
        cwd=checkout,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        errors="replace",
        check=False,
    )
    return done.returncode, done.stdout[-KEPT_CHARACTERS:]


def run_module_or_raise(
    module_and_args: Sequence[str], checkout: str | Path, threads: int | None, what: str
) -> str:
    """``run_module``, raising ``RuntimeError("<what> failed: <its last lines>")`` unless the
    process exits 0; returns the end of its output."""
    status, output = run_module(module_and_args, checkout, threads)
    if status != 0:
        tail = output.replace("\r", "\n").strip().splitlines()[-3:]
        raise RuntimeError(f"{what} failed (exit {status}): " + " | ".join(tail))
    return output


def scratch_fit(config: str | Path, folder: str | Path, extra_args: Sequence[str]) -> list[str]:
    """The arguments of ``rnn-mnist fit --config CONFIG`` that writes its checkpoints and logs
    under ``folder`` only (the logger's ``save_dir`` too: older checkouts put runs under the
    working folder) and draws no progress bar."""
    return [
        RNN_MNIST, "fit", "--config", str(config), "--trainer.default_root_dir", str(folder),
        "--trainer.logger.init_args.save_dir", str(folder),
        "--trainer.enable_progress_bar", "false", *extra_args,
    ]  # fmt: skip
