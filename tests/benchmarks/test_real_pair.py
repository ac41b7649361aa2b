"""`fetal-denoise benchmark --real-pair` on a tiny budget: it runs on the real DICOM pair and its figures are sound."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from benchmarks.baselines import module_available
from benchmarks.budget import get_budget
from benchmarks.real_pair import REAL_KEYS, RealPairResult, _ceiling, run_real_pair

pytestmark = pytest.mark.slow
pytest.importorskip("heudiconv", reason="the real pair is heudiconv's test data (the dev extra)")

TINY_FITS = {
    "n2n_fit_params": {"epochs": 1, "steps_per_epoch": 2, "batch_size": 2, "crop_size": 32},
    "n2v_fit_params": {"epochs": 1, "steps_per_epoch": 2, "batch_size": 2, "patch_size": 32},
}
ROWS = ("noisy", "bm3d_est", "n2n_fit", "n2v_fit", "n2n_pair_fit")


@pytest.fixture(scope="module")
def tiny_real_pair(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    """The cheap rows of the real-pair benchmark with a few fit steps; its JSON and progress messages."""
    budget = get_budget("quick").model_copy(update=TINY_FITS)
    messages: list[str] = []
    path = run_real_pair(
        budget,
        "tiny-real-pair",
        tmp_path_factory.mktemp("real-pair"),
        methods=ROWS,
        command="pytest tests/benchmarks/test_real_pair.py",
        progress=messages.append,
    )
    return path, messages


def test_every_row_is_there_and_those_that_ran_have_finite_figures(
    tiny_real_pair: tuple[Path, list[str]],
) -> None:
    """All keys appear in order; rows run are ok with finite pair PSNRs, rows left out say 'not run'."""
    path, _ = tiny_real_pair
    result = RealPairResult.model_validate_json(path.read_text(encoding="utf-8"))
    assert [row.method for row in result.rows] == list(REAL_KEYS)
    for row in result.rows:
        if row.method not in ROWS:
            assert row.status == "not run" and row.psnr_pair is None
            continue
        if row.method == "bm3d_est" and not module_available("bm3d"):
            # bm3d is an opt-in (non-commercial licence): the row tells the user how to get it.
            assert row.status == "not installed" and 'pip install "fetal-denoise[classical]"' in row.error
            continue
        assert row.status == "ok", row.error
        assert row.psnr_pair_held_out is not None and math.isfinite(row.psnr_pair_held_out)
        if row.method == "n2n_pair_fit":
            # It has seen y2 over its training slices: only the held-out figure may compare it.
            assert row.psnr_pair is None
        else:
            assert row.psnr_pair is not None and math.isfinite(row.psnr_pair)


def test_the_noisy_row_is_the_reference_of_every_gain(tiny_real_pair: tuple[Path, list[str]]) -> None:
    """The input's gain is zero by definition; learned rows carry a SURE estimate next to the pair's."""
    path, _ = tiny_real_pair
    result = RealPairResult.model_validate_json(path.read_text(encoding="utf-8"))
    rows = {row.method: row for row in result.rows}
    assert rows["noisy"].gain_db == 0.0 and rows["noisy"].gain_held_out_db == 0.0
    for key in ("n2n_fit", "n2v_fit", "n2n_pair_fit"):
        assert rows[key].psnr_sure is not None and math.isfinite(rows[key].psnr_sure)
        assert rows[key].train_seconds is not None and rows[key].train_seconds > 0


def test_the_data_and_held_out_slices_are_recorded(tiny_real_pair: tuple[Path, list[str]]) -> None:
    """The real series' geometry, both noise levels and the pair fit's held-out block are in the JSON."""
    path, _ = tiny_real_pair
    result = RealPairResult.model_validate_json(path.read_text(encoding="utf-8"))
    assert len(result.shape_zyx) == 3 and result.anatomy_voxels > 0
    n_slices = result.shape_zyx[result.slice_axis]
    assert result.held_out_slices and all(0 <= s < n_slices for s in result.held_out_slices)
    assert result.noise_sigma_pair > 0 and result.noise_sigma_estimated is not None
    assert result.target["met"] in (True, False) and "within 10 minutes" in result.target["goal"]
    assert result.pair_ceiling_gain_db is None or result.pair_ceiling_gain_db > 0


def test_the_ceiling_is_the_gain_of_a_perfect_denoiser() -> None:
    """Pair sigma 2, noise sigma 1: a perfect result keeps a pair MSE of 3 (the change) against 4, 1.25 dB."""
    assert _ceiling(2.0, 1.0) == pytest.approx(10 * math.log10(4 / 3), abs=1e-3)
    assert _ceiling(1.0, 1.0) is None and _ceiling(2.0, None) is None


def test_the_markdown_table_is_written_beside_the_json(tiny_real_pair: tuple[Path, list[str]]) -> None:
    """<name>.md holds one table line per row and states the target's outcome."""
    path, messages = tiny_real_pair
    text = path.with_suffix(".md").read_text(encoding="utf-8")
    assert text.count("\n| ") == len(REAL_KEYS) + 1  # the header and one line per row
    assert "Target:" in text and ("met" in text or "missed" in text)
    assert any("wrote" in message for message in messages)
