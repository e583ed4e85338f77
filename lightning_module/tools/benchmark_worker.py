"""One config's benchmark rounds, in a process of its own whose stdout the benchmark chose.

python -m lightning_module.tools.benchmark_worker JOB_JSON RESULT_JSON
"""

from __future__ import annotations

import gc
import json
import sys
from pathlib import Path

import torch

from lightning_module.tools.benchmark import BenchmarkSettings, measure_rounds
from lightning_module.utils.atomic import atomic_write_text


def main(argv: list[str] | None = None) -> int:
    """Run ``measure_rounds`` for the job; write ``{"rounds", "stdout_isatty", "torch_threads"}``
    to the result."""
    job_text, result = sys.argv[1:] if argv is None else argv
    job = json.loads(job_text)
    settings = BenchmarkSettings.from_json(job["settings"])
    gc.freeze()  # as the rnn-mnist command does (lightning_module.cli.command)
    rounds = measure_rounds(Path(job["config"]), settings, job["save_dir"])
    report = {
        "rounds": rounds,
        "stdout_isatty": sys.stdout.isatty(),
        "torch_threads": torch.get_num_threads(),
    }
    atomic_write_text(Path(result), json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
