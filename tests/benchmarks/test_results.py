"""Tests of the results schema against the results files the README quotes."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.real_pair import RealPairResult
from benchmarks.results import BenchmarkResult

RESULTS = Path(__file__).resolve().parents[2] / "benchmarks" / "results"
PUBLISHED = sorted(p for p in RESULTS.rglob("*.json") if p.with_suffix(".md").is_file())
REAL_PAIR_FILES = [p for p in PUBLISHED if p.stem.startswith("real-pair")]
TABLE_FILES = [p for p in PUBLISHED if p not in REAL_PAIR_FILES]


def test_there_are_published_tables_to_check() -> None:
    """The results folder holds the benchmark tables the README quotes."""
    assert len(TABLE_FILES) >= 5


@pytest.mark.parametrize("path", TABLE_FILES, ids=lambda p: str(p.relative_to(RESULTS)))
def test_published_results_still_read_and_say_which_test_noise_they_used(path: Path) -> None:
    """Every file validates; one that predates the whole-volume test noise reads as slice-only test noise."""
    result = BenchmarkResult.model_validate_json(path.read_text(encoding="utf-8"))
    expected = "whole volume" if "test_noise" in result.protocol else "test slices"
    assert all(sigma.test_noise_scope == expected for sigma in result.sigmas)


@pytest.mark.parametrize("path", REAL_PAIR_FILES, ids=lambda p: str(p.relative_to(RESULTS)))
def test_published_real_pair_results_still_read(path: Path) -> None:
    """Every real-pair file validates; where the N2N pair fit ran, its row is compared on held-out slices only,
    and every row that ran has its pair estimate over the anatomy otherwise."""
    result = RealPairResult.model_validate_json(path.read_text(encoding="utf-8"))
    pair_row = next(row for row in result.rows if row.method == "n2n_pair_fit")
    if pair_row.status == "ok":
        assert pair_row.psnr_pair is None and result.held_out_slices
    ran = [row for row in result.rows if row.status == "ok" and row.method != "n2n_pair_fit"]
    assert ran and all(row.psnr_pair is not None for row in ran)
