"""PSNR, RMSE and SSIM between a prediction and its reference, per volume and per slice.

Definitions (the paper's Eqs. 4 and 6): MSE = mean((reference - prediction)^2),
PSNR = 10 log10(MAX^2 / MSE) with MAX the data range of the reference (1.0 on normalised data), and
RMSE = sqrt(MSE) on the same scale. scikit-image computes all three (its PSNR is exactly this formula
when `data_range` is given explicitly, which we always do); SSIM uses its default 7-pixel window.
"""

from __future__ import annotations

import math

import numpy as np
from pydantic import BaseModel, ConfigDict, Field
from skimage.metrics import mean_squared_error, peak_signal_noise_ratio, structural_similarity

from shared.errors import ShapeMismatchError


class MetricSet(BaseModel):
    """PSNR (dB), RMSE and SSIM, all on the same data range."""

    model_config = ConfigDict(extra="forbid", ser_json_inf_nan="constants")

    psnr: float = Field(description="Peak signal-to-noise ratio in dB (inf when identical).")
    rmse: float = Field(description="Root mean squared error on the intensity scale of the inputs.")
    ssim: float = Field(description="Structural similarity, 1.0 when identical.")


class MetricsReport(BaseModel):
    """Metrics of a whole volume, the mean of its per-slice values, and each slice's values."""

    model_config = ConfigDict(extra="forbid", ser_json_inf_nan="constants")

    data_range: float = Field(description="MAX in the PSNR formula: the reference's max - min.")
    slice_axis: int = Field(description="Array axis (Z=0, Y=1, X=2) the per-slice values are across.")
    volume: MetricSet = Field(description="Computed over the whole volume at once (SSIM in 3D).")
    slice_mean: MetricSet = Field(description="Mean over slices of per-slice 2D values.")
    per_slice: list[MetricSet] = Field(description="One 2D entry per slice across slice_axis.")


def psnr_from_mse(mse: float, data_range: float = 1.0) -> float:
    """PSNR in dB, 10 log10(data_range^2 / mse), from a mean squared error that is not a pair of arrays.

    The project's one PSNR formula outside scikit-image, and the same as `compare` (scikit-image's), for
    an error pooled in pieces (validation batches, whose arrays are never all in memory at once), a noise
    variance (a noisy input's own PSNR is `psnr_from_mse(sigma**2, data_range)`), or an unbiased
    estimate (shared.quality). Infinite when `mse` is 0, or at or below zero as an estimate can be.
    """
    return 10.0 * math.log10(data_range**2 / mse) if mse > 0 else math.inf


def _win_size(shape: tuple[int, ...]) -> int:
    """scikit-image's 7-pixel SSIM window, shrunk (odd) for images smaller than that."""
    smallest = min(shape)
    if smallest >= 7:
        return 7
    if smallest < 3:
        raise ShapeMismatchError(f"SSIM needs images of at least 3 pixels per side, got {shape}")
    return smallest if smallest % 2 else smallest - 1


def compare(reference: np.ndarray, prediction: np.ndarray, data_range: float) -> MetricSet:
    """PSNR, RMSE and SSIM of one 2D or 3D array pair on an explicit data range."""
    reference = np.asarray(reference, dtype=np.float64)
    prediction = np.asarray(prediction, dtype=np.float64)
    mse = float(mean_squared_error(reference, prediction))
    psnr = (
        math.inf if mse == 0 else float(peak_signal_noise_ratio(reference, prediction, data_range=data_range))
    )
    ssim = float(
        structural_similarity(
            reference, prediction, data_range=data_range, win_size=_win_size(reference.shape)
        )
    )
    return MetricSet(psnr=psnr, rmse=math.sqrt(mse), ssim=ssim)


def evaluate(
    prediction: np.ndarray,
    reference: np.ndarray,
    data_range: float | None = None,
    slice_axis: int = 0,
) -> MetricsReport:
    """Score `prediction` against `reference` per volume and per slice across `slice_axis`.

    `data_range` defaults to the reference's max - min, as the paper's MAX.
    """
    prediction = np.asarray(prediction)
    reference = np.asarray(reference)
    if prediction.shape != reference.shape:
        raise ShapeMismatchError(
            f"prediction has shape {prediction.shape} but reference has shape {reference.shape}; "
            "they must match"
        )
    if data_range is None:
        data_range = float(reference.max() - reference.min())
    if not data_range > 0:
        raise ValueError(f"data_range must be > 0, got {data_range}")
    volume = compare(reference, prediction, data_range)
    if reference.ndim == 2:
        per_slice = [volume]
    else:
        ref_slices = np.moveaxis(reference, slice_axis, 0)
        pred_slices = np.moveaxis(prediction, slice_axis, 0)
        per_slice = [compare(r, p, data_range) for r, p in zip(ref_slices, pred_slices, strict=True)]
    slice_mean = MetricSet(
        psnr=float(np.mean([m.psnr for m in per_slice])),
        rmse=float(np.mean([m.rmse for m in per_slice])),
        ssim=float(np.mean([m.ssim for m in per_slice])),
    )
    return MetricsReport(
        data_range=data_range,
        slice_axis=slice_axis,
        volume=volume,
        slice_mean=slice_mean,
        per_slice=per_slice,
    )
