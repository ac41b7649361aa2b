#!/usr/bin/env bash
# Creates .venv in the repository root and installs everything the tests and the demo need.
# Idempotent: re-running it only installs what changed.
#
#   ./setup.sh               everything but the BM3D/BM4D baselines
#   ./setup.sh --classical   also bm3d and bm4d (the `classical` extra), the benchmark's BM3D/BM4D rows:
#                            their licence (Tampere University) allows non-commercial use only
set -euo pipefail
cd "$(dirname "$0")"
EXTRAS=all
for arg in "$@"; do
  case "$arg" in
    --classical) EXTRAS=all,classical ;;
    -h | --help) sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "setup.sh: unknown option $arg (known: --classical)" >&2; exit 2 ;;
  esac
done
PYTHON=${PYTHON:-python3.11}
command -v "$PYTHON" >/dev/null || PYTHON=python3
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip setuptools wheel
# CPU builds: torch==2.13.0 (pinned in pyproject; a bare `torch` would pull a multi-GB CUDA build)
# and tensorflow-cpu 2.21 with legacy Keras, which n2v 0.3.3 needs.
.venv/bin/python -m pip install --quiet -e ".[$EXTRAS]"
# tf-keras declares a dependency on `tensorflow`, not `tensorflow-cpu`: --no-deps keeps the 1.9 GB
# GPU build out.
.venv/bin/python -m pip install --quiet --no-deps "tf-keras==2.21.0"
echo "fetal-denoise is set up: $(.venv/bin/fetal-denoise --version)"
if [ "$EXTRAS" = all ]; then
  echo "(without bm3d/bm4d: ./setup.sh --classical adds them; their licence allows non-commercial use only)"
fi
