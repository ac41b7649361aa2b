"""End-to-end test of the benchmark on the tiny budget: it runs, every row is there, the output is sound."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from benchmarks.baselines import CLASSICAL, module_available
from benchmarks.results import BenchmarkResult
from benchmarks.run import ROW_ORDER, run_benchmark

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    """One tiny-budget run at sigma 20, its JSON path and its progress messages."""
    messages: list[str] = []
    out_dir = tmp_path_factory.mktemp("bench")
    path = run_benchmark("tiny", "tiny-test", out_dir, sigmas=(20,), progress=messages.append)
    return path, messages


def test_json_matches_its_schema_and_records_the_protocol(tiny_run: tuple[Path, list[str]]) -> None:
    """The JSON validates against BenchmarkResult and records split, seeds, versions and data range."""
    path, _ = tiny_run
    result = BenchmarkResult.model_validate_json(path.read_text(encoding="utf-8"))
    assert result.budget.name == "tiny"
    assert result.protocol["data_range"] == "1.0"
    assert result.split.test and result.split.train
    assert {"numpy", "torch", "n2v", "bm3d", "bm4d", "dipy"} <= result.versions.keys()
    assert [s.sigma for s in result.sigmas] == [20.0]
    assert result.sigmas[0].test_noise_seed == 1020
    assert result.sigmas[0].test_noise_scope == "whole volume"
    assert "whole normalised volume" in result.protocol["test_noise"]


def test_json_round_trips(tiny_run: tuple[Path, list[str]]) -> None:
    """Reading the JSON and writing it again gives the same result, new fields included."""
    path, _ = tiny_run
    result = BenchmarkResult.model_validate_json(path.read_text(encoding="utf-8"))
    again = BenchmarkResult.model_validate_json(result.model_dump_json())
    assert again == result
    assert any(row.settings for row in again.sigmas[0].rows)


def test_every_row_is_present_with_finite_figures(tiny_run: tuple[Path, list[str]]) -> None:
    """All rows are there in order; every row that ran has finite PSNR, RMSE and SSIM on all test slices."""
    path, _ = tiny_run
    result = BenchmarkResult.model_validate_json(path.read_text(encoding="utf-8"))
    rows = result.sigmas[0].rows
    assert [row.method for row in rows] == list(ROW_ORDER)
    n_test = len(result.split.test)
    optional = {baseline.key: baseline.module for baseline in CLASSICAL}
    for row in rows:
        if row.method in optional and not module_available(optional[row.method]):
            assert row.status == "not installed" and row.psnr is None
            continue
        assert row.status == "ok", f"{row.method}: {row.note}"
        assert all(math.isfinite(v) for v in (row.psnr, row.rmse, row.ssim))  # type: ignore[arg-type]
        assert row.n_test_slices == n_test == len(row.psnr_per_slice)
    learned = [row for row in rows if row.method in ("n2v", "n2n", "n2n_eq3", "n2c")]
    assert all(row.train_steps == result.budget.steps for row in learned)


def test_classical_rows_record_their_scope_time_and_sigma(tiny_run: tuple[Path, list[str]]) -> None:
    """3D rows are timed over every slice of the volume, 2D rows over the test slices; each says its sigma."""
    path, _ = tiny_run
    result = BenchmarkResult.model_validate_json(path.read_text(encoding="utf-8"))
    rows = {row.method: row for row in result.sigmas[0].rows if row.status == "ok"}
    volume_slices = result.data["volume_shape_zyx"][result.data["slice_axis"]]
    for key in ("bm4d", "bm4d_est", "nlmeans", "nlmeans_classic"):
        if key in rows:
            assert rows[key].scope == "whole volume" and rows[key].infer_slices == volume_slices
    for key in ("bm3d", "bm3d_est"):
        if key in rows:
            assert rows[key].scope == "test slices" and rows[key].infer_slices == len(result.split.test)
    for key in ("bm3d", "bm4d"):
        if key in rows:
            assert rows[key].sigma_given == 20.0 and rows[key].settings["profile"] == "np"
    for key in ("bm3d_est", "bm4d_est", "nlmeans", "nlmeans_classic"):
        if key in rows:
            assert math.isfinite(rows[key].sigma_given or math.nan) and "estimated" in str(rows[key].settings)
    for row in rows.values():
        if row.method != "noisy":
            assert row.infer_seconds is not None and row.infer_seconds > 0
            assert row.infer_seconds_per_slice == pytest.approx(
                row.infer_seconds / row.infer_slices, rel=1e-2
            )


def test_noisy_row_matches_the_stated_sigma(tiny_run: tuple[Path, list[str]]) -> None:
    """The noisy input's RMSE is sigma/255 (within sampling error) and its PSNR follows from it."""
    path, _ = tiny_run
    noisy = BenchmarkResult.model_validate_json(path.read_text(encoding="utf-8")).sigmas[0].rows[0]
    assert noisy.rmse == pytest.approx(20 / 255, rel=0.03)
    assert noisy.psnr == pytest.approx(-20 * math.log10(20 / 255), abs=0.3)


def test_markdown_and_figure_are_written(tiny_run: tuple[Path, list[str]]) -> None:
    """The Markdown table names every row and links the PNG, which is a real image."""
    path, messages = tiny_run
    markdown = path.with_suffix(".md").read_text(encoding="utf-8")
    data = json.loads(path.read_text(encoding="utf-8"))
    for row in data["sigmas"][0]["rows"]:
        assert row["label"] in markdown
    assert "![" in markdown and "tiny-test.png" in markdown
    assert path.with_suffix(".png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert any(m.startswith("wrote ") for m in messages)


def test_fits_record_their_curve_and_every_learned_row_its_estimates(
    tiny_run: tuple[Path, list[str]],
) -> None:
    """The single-scan fits run through the service and trace a curve; estimates sit next to the truth."""
    path, _ = tiny_run
    sigma = BenchmarkResult.model_validate_json(path.read_text(encoding="utf-8")).sigmas[0]
    rows = {row.method: row for row in sigma.rows}
    assert set(sigma.curves) == {"n2v_fit", "n2n_fit", "n2n_pair_fit"}
    for points in sigma.curves.values():
        assert points and all(math.isfinite(p["psnr"]) and p["seconds"] >= 0 for p in points)
    for key in ("n2v", "n2n", "n2v_fit", "n2n_fit", "n2n_pair_fit"):
        estimates = rows[key].estimates
        assert estimates["sigma_true_255"] == 20.0 and estimates["sigma_estimated_255"] is not None
        assert estimates["rmse_true"] is not None and estimates["rmse_sure"] is not None
    assert rows["n2n_pair_fit"].estimates["rmse_pair"] is not None
    assert sigma.noise_estimates["gaussian_estimated_255"] is not None
    assert (path.parent / "tiny-test-curve.png").is_file()
