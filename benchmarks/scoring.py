"""Turning a method's test predictions into a table row, and checking the issue's targets."""

from __future__ import annotations

import numpy as np

from benchmarks.prediction import Prediction
from benchmarks.results import MethodKey, Row
from shared.metrics import compare

DATA_RANGE = 1.0
"""MAX of PSNR: the data range of the normalised clean reference."""

LABELS: dict[MethodKey, str] = {
    "noisy": "Noisy input (no denoising)",
    "bm3d": "BM3D per slice, true sigma",
    "bm3d_est": "BM3D per slice, estimated sigma",
    "bm4d": "BM4D on the volume, true sigma",
    "bm4d_est": "BM4D on the volume, estimated sigma",
    "nlmeans": "DIPY non-local means 3D, blockwise (DIPY's default)",
    "nlmeans_classic": "DIPY non-local means 3D, classic (DIPY's default before 1.12)",
    "n2v": "N2V (n2v)",
    "n2n": "N2N, single copy",
    "n2n_eq3": "N2N Eq. 3, mean of 2 copies",
    "n2c": "N2C, clean targets (upper bound)",
    "n2v_fit": "N2V fitted on the noisy volume (denoise --fit)",
    "n2n_fit": "N2N fitted on the noisy volume, recorrupted pairs (denoise --fit)",
    "n2n_pair_fit": "N2N fitted on the two noisy volumes, Eq. 3 (denoise --fit --second)",
}
NOTES: dict[MethodKey, str] = {
    "bm3d_est": "sigma estimated from the noisy volume",
    "bm4d": "uses the neighbouring slices",
    "bm4d_est": "uses the neighbouring slices; sigma estimated from the noisy volume",
    "nlmeans": "uses the neighbouring slices; DIPY's sigma estimate and rician=True",
    "nlmeans_classic": "uses the neighbouring slices; DIPY's sigma estimate and rician=True",
    "n2n_eq3": "uses a second noisy acquisition",
    "n2c": "needs clean training data",
    "n2v_fit": "nothing but the noisy volume; the service's fit defaults",
    "n2n_fit": "nothing but the noisy volume; sigma estimated from it; the service's fit defaults",
    "n2n_pair_fit": "uses a second noisy acquisition; the service's fit defaults",
}


def score(method: MethodKey, clean: np.ndarray, prediction: Prediction) -> Row:
    """Mean per-slice PSNR, RMSE and SSIM of `prediction` against the clean test slices."""
    per_slice = [compare(c, p, DATA_RANGE) for c, p in zip(clean, prediction.images, strict=True)]
    n = len(per_slice)
    infer_slices = n if prediction.infer_slices is None else prediction.infer_slices
    return Row(
        method=method,
        label=LABELS[method],
        status="ok",
        note=NOTES.get(method, ""),
        psnr=float(np.mean([m.psnr for m in per_slice])),
        rmse=float(np.mean([m.rmse for m in per_slice])),
        ssim=float(np.mean([m.ssim for m in per_slice])),
        psnr_per_slice=[round(m.psnr, 4) for m in per_slice],
        n_test_slices=n,
        train_steps=prediction.train_steps,
        train_seconds=round(prediction.train_seconds, 2),
        infer_seconds=prediction.infer_seconds,
        infer_slices=infer_slices,
        infer_seconds_per_slice=prediction.infer_seconds / infer_slices if infer_slices else None,
        scope=prediction.scope,
        sigma_given=None if prediction.sigma_given is None else round(prediction.sigma_given, 3),
        settings=prediction.settings,
        estimates=prediction.estimates,
    )


def missing(method: MethodKey, status: str, note: str, n_test: int) -> Row:
    """A row for a method that produced nothing: an optional baseline not installed, or a failure."""
    return Row(
        method=method,
        label=LABELS[method],
        status=status if status in ("not installed", "not run") else "failed",
        note=note,
        n_test_slices=n_test,
        train_steps=0,
        train_seconds=0.0,
    )


def check_targets(rows: list[Row]) -> dict[str, object]:
    """The issue's targets: N2N within 0.5 dB of N2C, N2V within 2.0 dB of N2C, both above BM3D."""
    psnr = {row.method: row.psnr for row in rows if row.status == "ok" and row.psnr is not None}
    targets: dict[str, object] = {}
    if "n2c" in psnr:
        for method, limit in (("n2n", 0.5), ("n2v", 2.0)):
            if method in psnr:
                gap = psnr["n2c"] - psnr[method]
                targets[f"{method}_gap_to_n2c_db"] = round(gap, 3)
                targets[f"{method}_within_{limit}_db_of_n2c"] = bool(gap <= limit)
    if "bm3d" in psnr:
        for method in ("n2n", "n2v"):
            if method in psnr:
                targets[f"{method}_above_bm3d"] = bool(psnr[method] > psnr["bm3d"])
    return targets


TEN_MINUTES = 600.0
HALF_HOUR = 1800.0
GAIN_AT_SIGMA_5_DB = 3.0


def best_within(curve: list[dict[str, float]], seconds: float) -> float | None:
    """The best test PSNR a fit's curve reached within `seconds` of training (None: no point that early)."""
    reached = [point["psnr"] for point in curve if point["seconds"] <= seconds]
    return max(reached) if reached else None


def check_fit_targets(
    sigma: float, rows: list[Row], curves: dict[str, list[dict[str, float]]]
) -> dict[str, object]:
    """The time-to-quality targets of the single-scan fits, read off their curves (a curve budget only).

    Sigma 20: each single-scan fit above BM3D with an estimated sigma within 10 minutes of training and
    above BM4D with an estimated sigma within 30; the pair fit above BM4D with the true sigma within 30.
    Sigma 5: every fit at least 3 dB above the noisy input within 10 minutes. A target whose reference row
    did not run is left out rather than called met or missed; one whose curve ended before the time limit
    without meeting it is `met: None`, not decided.
    """
    psnr = {row.method: row.psnr for row in rows if row.status == "ok" and row.psnr is not None}
    checks: list[tuple[str, str, float, float]] = []  # (fit, reference, seconds, margin in dB)
    if sigma == 20:
        for fit in ("n2n_fit", "n2v_fit"):
            checks += [(fit, "bm3d_est", TEN_MINUTES, 0.0), (fit, "bm4d_est", HALF_HOUR, 0.0)]
        checks.append(("n2n_pair_fit", "bm4d", HALF_HOUR, 0.0))
    elif sigma == 5:
        checks += [
            (fit, "noisy", TEN_MINUTES, GAIN_AT_SIGMA_5_DB) for fit in ("n2n_fit", "n2v_fit", "n2n_pair_fit")
        ]
    targets: dict[str, object] = {}
    for fit, reference, seconds, margin in checks:
        if fit not in curves or reference not in psnr:
            continue
        best = best_within(curves[fit], seconds)
        goal = psnr[reference] + margin
        ended = max(point["seconds"] for point in curves[fit]) if curves[fit] else 0.0
        met: bool | None = best is not None and best > goal
        if not met and ended < seconds:
            met = None  # the training stopped before the time limit: not decided
        name = f"{fit}_{'gain_3db' if margin else 'above_' + reference}_within_{seconds / 60:g}_min"
        targets[name] = {
            "met": met,
            "best_psnr_db": best,
            "goal_db": round(goal, 3),
            "short_by_db": None if best is None else round(max(goal - best, 0.0), 3),
            "curve_ends_seconds": round(ended, 1),
        }
    return targets
