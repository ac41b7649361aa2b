"""The documentation site builds strictly, with the API reference and the results pages generated."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_the_site_builds_strictly_with_every_route_and_the_results_figures(tmp_path: Path) -> None:
    pytest.importorskip("mkdocs")
    site = tmp_path / "site"
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "NO_MKDOCS_2_WARNING": "1",
        "DATA_DIR": str(tmp_path / "data"),
    }
    build = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert build.returncode == 0, build.stderr[-3000:]

    from services.gateway.app import create_app

    api_page = (site / "api-reference" / "index.html").read_text()
    for path, operations in create_app().openapi()["paths"].items():
        for method in operations:
            assert f"{method.upper()} {path}" in api_page, f"{method.upper()} {path} is not on the API page"

    curve = (site / "results-files" / "curve-sigma20" / "index.html").read_text()
    assert re.search(r'<img[^>]+src="\.\./curve-sigma20-curve\.png"', curve)
    assert (site / "results-files" / "curve-sigma20-curve.png").read_bytes()[:4] == b"\x89PNG"
