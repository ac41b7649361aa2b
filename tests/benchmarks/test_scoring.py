"""Tests of how predictions become rows, targets and Markdown, and of rows that could not run."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.budget import get_budget
from benchmarks.prediction import Prediction
from benchmarks.results import Row
from benchmarks.scoring import check_fit_targets, check_targets, missing, score
from benchmarks.table import row_line


def _row(method: str, psnr: float) -> Row:
    """A scored row with only a PSNR that matters."""
    return Row(
        method=method,  # type: ignore[arg-type]
        label=method,
        status="ok",
        psnr=psnr,
        rmse=0.01,
        ssim=0.9,
        n_test_slices=1,
        train_steps=1,
        train_seconds=0.0,
    )


def test_score_is_the_mean_of_per_slice_values_on_range_one() -> None:
    """A constant error of 0.1 on every slice gives RMSE 0.1 and PSNR 20 dB, per slice and on average."""
    clean = np.random.default_rng(0).uniform(0.0, 1.0, size=(3, 16, 16)).astype(np.float32)
    row = score("n2n", clean, Prediction(images=clean + 0.1, infer_seconds=0.3))
    assert row.rmse == pytest.approx(0.1, rel=1e-5)
    assert row.psnr == pytest.approx(20.0, abs=1e-4)
    assert row.psnr_per_slice == pytest.approx([20.0] * 3, abs=1e-3)
    assert row.infer_seconds_per_slice == pytest.approx(0.1)


def test_targets_report_gaps_to_n2c_and_the_bm3d_comparison() -> None:
    """N2N 0.3 dB under N2C meets its 0.5 dB target; N2V 2.5 dB under misses its 2 dB one; BM3D is compared."""
    rows = [_row("bm3d", 30.0), _row("n2v", 29.5), _row("n2n", 31.7), _row("n2c", 32.0)]
    targets = check_targets(rows)
    assert targets["n2n_gap_to_n2c_db"] == pytest.approx(0.3)
    assert targets["n2n_within_0.5_db_of_n2c"] is True
    assert targets["n2v_within_2.0_db_of_n2c"] is False
    assert targets["n2n_above_bm3d"] is True and targets["n2v_above_bm3d"] is False


def test_fit_targets_are_read_off_the_curve_at_their_time_limit() -> None:
    """Only points within the time limit count: a fit that passes BM3D after 12 minutes misses 10 minutes."""
    rows = [_row("noisy", 22.0), _row("bm3d_est", 33.0), _row("bm4d_est", 34.0), _row("bm4d", 34.5)]
    late = [{"epoch": 1, "seconds": 300.0, "psnr": 31.0}, {"epoch": 2, "seconds": 720.0, "psnr": 34.2}]
    curves = {"n2n_fit": late, "n2n_pair_fit": [{"epoch": 1, "seconds": 1000.0, "psnr": 35.0}]}
    targets = check_fit_targets(20, rows, curves)
    ten = targets["n2n_fit_above_bm3d_est_within_10_min"]
    assert ten == {
        "met": False,
        "best_psnr_db": 31.0,
        "goal_db": 33.0,
        "short_by_db": 2.0,
        "curve_ends_seconds": 720.0,
    }
    assert targets["n2n_fit_above_bm4d_est_within_30_min"]["met"] is True  # type: ignore[index]
    assert targets["n2n_pair_fit_above_bm4d_within_30_min"]["met"] is True  # type: ignore[index]
    assert not any(key.startswith("n2v_fit") for key in targets)  # no curve, no verdict


def test_at_sigma_5_every_fit_needs_3_db_over_the_noisy_input() -> None:
    """The sigma-5 goal is the input plus 3 dB; a fit 2 dB over it misses by 1 dB."""
    rows = [_row("noisy", 34.0)]
    curves = {"n2v_fit": [{"epoch": 1, "seconds": 100.0, "psnr": 36.0}]}
    target = check_fit_targets(5, rows, curves)["n2v_fit_gain_3db_within_10_min"]
    # The curve stops at 100 s, short of 10 minutes, and 1 dB short of the goal: not decided.
    assert target["met"] is None and target["short_by_db"] == 1.0 and target["goal_db"] == 37.0
    longer = {"n2v_fit": [*curves["n2v_fit"], {"epoch": 2, "seconds": 610.0, "psnr": 36.5}]}
    assert check_fit_targets(5, rows, longer)["n2v_fit_gain_3db_within_10_min"]["met"] is False  # type: ignore[index]


def test_a_failed_row_shows_its_status_and_reason_in_the_table() -> None:
    """A row without predictions carries no figures, and the table says why."""
    row = missing("n2v", "failed", "JobError: training diverged", 14)
    line = row_line(row)
    assert row.psnr is None and "failed" in line and "training diverged" in line


def test_unknown_budget_is_refused() -> None:
    """Asking for a preset that does not exist names the ones that do."""
    with pytest.raises(
        ValueError, match="no preset budget 'custom'; choose one of tiny, quick, curve, paper"
    ):
        get_budget("custom")


def test_a_volume_method_is_timed_per_slice_of_the_volume_it_denoised() -> None:
    """A 3D row's 30 s over a 60-slice volume is 0.5 s a slice; the table shows both and the sigma it got."""
    clean = np.zeros((2, 8, 8), dtype=np.float32)
    prediction = Prediction(
        images=clean, infer_seconds=30.0, infer_slices=60, scope="whole volume", sigma_given=19.6
    )
    row = score("bm4d_est", clean + 0.1, prediction)
    assert (row.infer_seconds, row.infer_slices, row.infer_seconds_per_slice) == (30.0, 60, 0.5)
    line = row_line(row)
    assert "| 19.6 |" in line and "30.0 (60 slices)" in line and "| 0.500 |" in line
