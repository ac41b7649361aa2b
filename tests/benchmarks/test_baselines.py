"""Tests of the classical rows: optional packages missing, a baseline that fails, and DIPY's 3D row."""

from __future__ import annotations

import sys
from typing import Literal

import numpy as np
import pytest

from benchmarks import baselines
from benchmarks import run as bench_run
from benchmarks.baselines import CLASSICAL, Baseline, classical_rows
from benchmarks.block_matching import CLASSICAL_INSTALL, block_matching, run_bm3d
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
    ("module", "keys", "install"),
    [
        ("bm3d", ("bm3d", "bm3d_est"), 'pip install "fetal-denoise[classical]"'),
        ("bm4d", ("bm4d", "bm4d_est"), 'pip install "fetal-denoise[classical]"'),
        ("dipy.denoise.nlmeans", ("nlmeans", "nlmeans_classic"), 'pip install "fetal-denoise[bench]"'),
    ],
)
def test_a_missing_package_makes_its_rows_not_installed(
    monkeypatch: pytest.MonkeyPatch, data: BenchmarkData, module: str, keys: tuple[str, ...], install: str
) -> None:
    """With the package's import blocked, its rows say 'not installed' and what installs it; rows left out
    say 'not run'."""
    monkeypatch.setitem(sys.modules, module, None)  # `import module` now raises ImportError
    messages: list[str] = []
    result, panels = bench_run._sigma_result(
        data, 20.0, get_budget("tiny"), ("noisy", *keys), messages.append
    )
    status = {row.method: row.status for row in result.rows}
    assert status == {
        key: "ok" if key == "noisy" else "not installed" if key in keys else "not run"
        for key in bench_run.ROW_ORDER
    }
    for key in keys:
        assert panels[key].image is None and panels[key].missing == "not installed"
        line = row_line(next(row for row in result.rows if row.method == key))
        assert "not installed" in line and install in line
        assert any(key in message and install in message for message in messages)
    assert np.isfinite(result.rows[0].psnr or np.nan)


@pytest.mark.parametrize("name", ["bm3d", "bm4d"])
def test_without_the_classical_opt_in_the_error_names_it_and_the_licence(
    monkeypatch: pytest.MonkeyPatch, name: Literal["bm3d", "bm4d"]
) -> None:
    """A direct call (the real-pair rows) tells the user the extra, the set-up flag and the licence."""
    monkeypatch.setitem(sys.modules, name, None)
    with pytest.raises(ImportError) as raised:
        block_matching(name)
    message = str(raised.value)
    assert 'pip install "fetal-denoise[classical]"' in message and "./setup.sh --classical" in message
    assert "non-commercial" in message


@pytest.mark.slow
def test_bm3d_denoises_the_test_slices_when_the_opt_in_is_installed(data: BenchmarkData) -> None:
    """The BM3D row, where its package is installed, improves on its input with the true sigma."""
    pytest.importorskip("bm3d", reason=f"bm3d is an opt-in: {CLASSICAL_INSTALL}")
    noisy = draw_noisy_copies(data, 20)
    prediction = run_bm3d(data, noisy, estimate=False)
    assert prediction.images.shape == data.test.shape
    noisy_error = np.mean((noisy.test_slices[0] - data.test) ** 2)
    assert np.mean((prediction.images - data.test) ** 2) < noisy_error / 4


def test_a_failing_baseline_becomes_a_failed_row_and_the_others_still_run(
    monkeypatch: pytest.MonkeyPatch, data: BenchmarkData
) -> None:
    """An exception in one baseline is its row's note; the next baseline still produces figures."""

    def explode(*_: object) -> Prediction:
        raise MemoryError("cannot allocate the block stacks")

    broken = Baseline("bm4d", "numpy", explode, "nothing")
    monkeypatch.setattr(baselines, "CLASSICAL", (broken, *(b for b in CLASSICAL if b.key == "nlmeans")))
    outcomes = classical_rows(data, draw_noisy_copies(data, 20), ("bm4d", "nlmeans"), lambda _: None)
    assert outcomes["bm4d"] == "MemoryError: cannot allocate the block stacks"
    assert isinstance(outcomes["nlmeans"], Prediction)


@pytest.mark.slow
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
