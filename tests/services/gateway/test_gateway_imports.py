"""The gateway must never load a deep-learning framework."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.slow
def test_gateway_imports_neither_torch_nor_tensorflow():
    """Importing the gateway app (and every route, the queue client and the configs) loads no framework."""
    code = (
        "import sys\n"
        "import services.gateway.app\n"
        "from fastapi.testclient import TestClient\n"
        "TestClient(services.gateway.app.app).get('/health')\n"
        "loaded = sorted(m for m in ('torch', 'tensorflow', 'keras', 'tf_keras', 'n2v') if m in sys.modules)\n"
        "print(','.join(loaded))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == ""
