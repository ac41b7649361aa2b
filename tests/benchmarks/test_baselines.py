"""Tests of the classical rows: optional packages missing, a baseline that fails, and DIPY's 3D row."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from benchmarks import baselines
from benchmarks import run as bench_run
from benchmarks.baselines import CLASSICAL, Baseline, classical_rows
from benchmarks.budget import get_budget
from benchmarks.data import BenchmarkData, draw_noisy_copies, load_mni, prepare
from benchmarks.dipy_nlmeans import run_nlmeans
from benchmarks.prediction import Prediction
from benchmarks.table import row_line


@pytest.fixture(scope="module")
def data() -> BenchmarkData:
    """The tiny budget's 3 mm template with two test slices."""
    return prepare(load_mni(3), max_test_slices=2)


@pytest.mark.parametrize(
    ("module", "keys"),
    [
        ("bm3d", ("bm3d", "bm3d_est")),
        ("bm4d", ("bm4d", "bm4d_est")),
        ("dipy.denoise.nlmeans", ("nlmeans", "nlmeans_classic")),
    ],
)
def test_a_missing_package_makes_its_rows_not_installed(
    monkeypatch: pytest.MonkeyPatch, data: BenchmarkData, module: str, keys: tuple[str, ...]
) -> None:
    """With the package's import blocked, its rows say 'not installed'; rows left out say 'not run'."""
    monkeypatch.setitem(sys.modules, module, None)  # `import module` now raises ImportError
    result, panels = bench_run._sigma_result(data, 20.0, get_budget("tiny"), ("noisy", *keys), lambda _: None)
    status = {row.method: row.status for row in result.rows}
    assert status == {
        key: "ok" if key == "noisy" else "not installed" if key in keys else "not run"
        for key in bench_run.ROW_ORDER
    }
    for key in keys:
        assert panels[key].image is None and panels[key].missing == "not installed"
        assert "not installed" in row_line(next(row for row in result.rows if row.method == key))
    assert np.isfinite(result.rows[0].psnr or np.nan)


def test_a_failing_baseline_becomes_a_failed_row_and_the_others_still_run(
    monkeypatch: pytest.MonkeyPatch, data: BenchmarkData
) -> None:
    """An exception in one baseline is its row's note; the next baseline still produces figures."""

    def explode(*_: object) -> Prediction:
        raise MemoryError("cannot allocate the block stacks")

    broken = Baseline("bm4d", "numpy", explode)
    monkeypatch.setattr(baselines, "CLASSICAL", (broken, *(b for b in CLASSICAL if b.key == "nlmeans")))
    outcomes = classical_rows(data, draw_noisy_copies(data, 20), ("bm4d", "nlmeans"), lambda _: None)
    assert outcomes["bm4d"] == "MemoryError: cannot allocate the block stacks"
    assert isinstance(outcomes["nlmeans"], Prediction)


def test_nlmeans_denoises_the_whole_volume_and_is_scored_on_its_test_slices(data: BenchmarkData) -> None:
    """DIPY's row keeps the test slices' shape, times the whole volume, and records what it ran with."""
    pytest.importorskip("dipy.denoise.nlmeans")
    noisy = draw_noisy_copies(data, 20)
    prediction = run_nlmeans(data, noisy)
    assert prediction.images.shape == data.test.shape and prediction.images.dtype == np.float32
    assert np.isfinite(prediction.images).all()
    assert prediction.scope == "whole volume"
    assert prediction.infer_slices == data.volume.shape[data.axis]
    assert prediction.settings["rician"] is True  # DIPY's default, kept deliberately (module docstring)
    assert prediction.sigma_given is not None and prediction.sigma_given > 0
