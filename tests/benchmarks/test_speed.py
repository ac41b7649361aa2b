"""Test of `--speed` on a small volume: every figure it promises is there and positive."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks.speed import run_speed

pytestmark = pytest.mark.slow


def test_speed_reports_service_and_bare_figures_for_both_methods(tmp_path: Path) -> None:
    """N2N and N2V each get a whole-volume denoise time next to the bare call, a training rate and memory."""
    out = tmp_path / "speed.json"
    figures = run_speed(
        shape=(64, 64, 6), steps=4, batch_size=2, patch_size=32, progress=lambda _: None, out_path=out
    )
    assert json.loads(out.read_text(encoding="utf-8")) == json.loads(json.dumps(figures))
    n2n, n2v = figures["n2n"], figures["n2v"]
    for key in ("denoise_volume_s", "raw_forward_volume_s", "train_steps_per_s_bare", "peak_rss_mib_so_far"):
        assert n2n[key] > 0, key
    for key in ("denoise_volume_s", "bare_n2v_predict_volume_s", "train_s_service", "peak_rss_mib_so_far"):
        assert n2v[key] > 0, key
    assert figures["slices"] == 6
