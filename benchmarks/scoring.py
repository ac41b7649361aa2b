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
