"""The README's headline table quotes its results file: every (PSNR, seconds) pair is a row of it."""

from __future__ import annotations

import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_headline_table_is_read_from_prior_sigma20_json() -> None:
    readme = (ROOT / "README.md").read_text()
    table = readme[readme.index("| Row | PSNR (dB) | Seconds |") :].split("\n\n", 1)[0]
    quoted = [
        (float(psnr), int(seconds))
        for psnr, seconds in re.findall(r"\|\s*\**([\d.]+)\**\s*\|\s*\**(\d+)\**\s*\|\s*$", table, re.M)
    ]
    rows = json.loads((ROOT / "benchmarks/results/prior-sigma20.json").read_text())["rows"]
    measured = {(round(r["psnr"], 2), round(r["seconds"])) for r in rows}

    assert len(quoted) >= 5
    assert set(quoted) <= measured, set(quoted) - measured
