#!/usr/bin/env bash
# Creates .venv in the repository root and installs everything the tests and the demo need.
# Idempotent: re-running it only installs what changed.
set -euo pipefail
cd "$(dirname "$0")"
PYTHON=${PYTHON:-python3.11}
command -v "$PYTHON" >/dev/null || PYTHON=python3
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip setuptools wheel
# CPU builds: torch==2.13.0 (pinned in pyproject; a bare `torch` would pull a multi-GB CUDA build)
# and tensorflow-cpu 2.21 with legacy Keras, which n2v 0.3.3 needs.
.venv/bin/python -m pip install --quiet -e ".[all]"
# tf-keras declares a dependency on `tensorflow`, not `tensorflow-cpu`: --no-deps keeps the 1.9 GB
# GPU build out.
.venv/bin/python -m pip install --quiet --no-deps "tf-keras==2.21.0"
echo "fetal-denoise is set up: $(.venv/bin/fetal-denoise --version)"
