#!/usr/bin/env bash
# The GPU figures in one run, under 10 minutes on a GPU machine with a copy of this tree and its .venv (no network):
#   benchmarks/gpu/run.sh OUT_DIR          # the gpu tests, --speed, the prior's rows at sigma 20, a short pretraining
#   benchmarks/gpu/run.sh OUT_DIR --dry    # print the commands, run each with its smallest budget (on the CPU)
# Each step's wall time and exit code go into OUT_DIR/run.json; a failing step does not stop the others.
# PYTHON overrides the interpreter (default: the tree's .venv/bin/python); see benchmarks/gpu/run.py.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
python="${PYTHON:-$root/.venv/bin/python}"
cd "$root"
# The tree wins over whatever the venv's editable install points at.
export PYTHONPATH="$root${PYTHONPATH:+:$PYTHONPATH}"
exec "$python" -m benchmarks.gpu.run "$@"
