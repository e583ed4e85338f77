#!/usr/bin/env bash
# One prepared check for a lent GPU machine, in two steps:
#
#   bash scripts/gpu_check.sh prepare   # HERE (online): the few wheels the GPU image lacks and a
#                                       # gzipped copy of MNIST, into .gpu_check/
#   bash scripts/gpu_check.sh run       # THERE (offline), with .gpu_check carried along
#
# `run` installs what is missing into the machine's python3 (which already holds torch,
# pytorch-lightning, torchmetrics, torchvision, tensorboard), runs every test marked gpu, fits
# scripts/configs/lstm.yaml for 2 epochs in each precision (32-true, bf16-mixed, 16-mixed; data
# on the GPU), and runs the Lightning-vs-hand-loop benchmark. Figures go to results/gpu/ and,
# when $OUT is set, to $OUT (at most 8 files).
set -uo pipefail
cd "$(dirname "$0")/.."

STAGE=.gpu_check
RESULTS=results/gpu
PRECISIONS=(32-true bf16-mixed 16-mixed)
WHEELS=("jsonargparse[signatures]==4.53.0" "docstring_parser==0.18.0" "typeshed_client==2.15.0"
        "ninja==1.13.2")

prepare() {
  set -e
  local python=${PYTHON:-.venv/bin/python}
  local source=${MNIST_DATA_DIR:-../shared/data}/MNIST/raw
  mkdir -p "$STAGE/wheels" "$STAGE/MNIST/raw"
  "$python" -m pip download --quiet --no-deps --only-binary=:all: -d "$STAGE/wheels" "${WHEELS[@]}"
  for name in train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte \
              t10k-labels-idx1-ubyte; do
    gzip -c "$source/$name" > "$STAGE/MNIST/raw/$name.gz"
  done
  du -sh "$STAGE"
  echo "prepared $STAGE: now run 'bash scripts/gpu_check.sh run' on the GPU machine with" \
       "carry=[\"$STAGE\"] (keep $STAGE/ out of git)"
}

run() {
  local python=${PYTHON:-python3}
  local data=/tmp/rnn-mnist-data
  local log=$RESULTS/gpu_check.log
  local failures=0
  export PYTHONPATH=$PWD PYTHONUNBUFFERED=1 MPLBACKEND=Agg MNIST_DATA_DIR=$data
  mkdir -p "$RESULTS" "$data/MNIST/raw"
  exec > >(tee "$log") 2>&1
  step() { echo; echo "=== $* ($(date +%T))"; }

  step "machine"
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$RESULTS/gpu.txt"
  "$python" -c "import torch; print('torch', torch.__version__, 'CUDA', torch.version.cuda, \
torch.cuda.get_device_name(0), 'cuDNN', torch.backends.cudnn.version())"

  step "install (offline: carried wheels, python3's own packages)"
  "$python" -m pip install --quiet --no-index --find-links "$STAGE/wheels" "${WHEELS[@]}" \
    || failures=$((failures + 1))
  for file in "$STAGE"/MNIST/raw/*.gz; do
    gunzip -c "$file" > "$data/MNIST/raw/$(basename "$file" .gz)"
  done
  "$python" -c "import pytorch_lightning, torchmetrics, tensorboard, jsonargparse, torchvision" \
    || { echo "missing packages: stopping"; return 1; }

  step "GPU tests"
  "$python" -m pytest -q -p no:cacheprovider -m gpu tests/ \
    2>&1 | tee "$RESULTS/tests.log" | tail -n 15
  [ "${PIPESTATUS[0]}" -eq 0 ] || failures=$((failures + 1))

  for precision in "${PRECISIONS[@]}"; do
    step "fit lstm.yaml, 2 epochs, precision $precision, data on the GPU"
    "$python" scripts/reproduce.py lstm --results-dir "$RESULTS/precision-$precision" -- \
      --trainer.max_epochs 2 --trainer.precision "$precision" --data.on_device true \
      --trainer.enable_progress_bar false --trainer.logger.init_args.save_dir /tmp/gpu-runs \
      || failures=$((failures + 1))
  done
  "$python" - "$RESULTS" "${PRECISIONS[@]}" <<'EOF'
import json, sys
from pathlib import Path
results, precisions = Path(sys.argv[1]), sys.argv[2:]
lines = ["| precision | epochs | best val acc | test acc | train samples/s | wall time |",
         "|---|---:|---:|---:|---:|---:|"]
rows = {}
for precision in precisions:
    path = results / f"precision-{precision}" / "reproduce.json"
    if not path.is_file():
        lines.append(f"| {precision} | failed | | | | |")
        continue
    run = json.loads(path.read_text())["runs"][0]
    rows[precision] = run
    lines.append(f"| {precision} | {run['epochs']} | {100 * run['best_val_acc']:.2f}% | "
                 f"{100 * run['test_acc']:.2f}% | {run['train_samples_per_s']:,.0f} | "
                 f"{run['wall_time_s']:.0f} s |")
(results / "precision.json").write_text(json.dumps(rows, indent=2) + "\n")
(results / "precision.md").write_text("\n".join(lines) + "\n")
print("\n".join(lines))
EOF

  step "benchmark (fp32, data on the GPU for the Lightning arm as for the hand loop)"
  "$python" scripts/benchmark.py --no-progress-bar --results-dir "$RESULTS" \
    -- --data.on_device true || failures=$((failures + 1))
  cat "$RESULTS/benchmark.md" 2>/dev/null

  step "done: $failures failed step(s)"
  if [ -n "${OUT:-}" ]; then
    tar -czf "$OUT/gpu_results.tar.gz" "$RESULTS"
    cp "$RESULTS"/{gpu_check.log,benchmark.md,benchmark.json,precision.md,tests.log} "$OUT"/ \
      2>/dev/null
  fi
  return "$failures"
}

case "${1:-}" in
  prepare) prepare ;;
  run) run ;;
  *) echo "usage: bash scripts/gpu_check.sh prepare|run" >&2; exit 2 ;;
esac
