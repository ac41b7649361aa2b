"""The estimated error of a result from a second acquisition of the same anatomy (a Noise2Noise pair).

With y1 = x + n1 and y2 = x + n2, and f(y1) the prediction from the first copy alone:
    E[(f(y1) - y2)^2] = MSE(f(y1)) + sigma2^2       (n2 is independent of f(y1), zero-mean)
    E[(y1 - y2)^2] / 2 = (sigma1^2 + sigma2^2) / 2
so mean((f(y1) - y2)^2) - mean((y1 - y2)^2) / 2 estimates the MSE of the single-copy prediction without
bias when the two copies carry independent, zero-mean noise of equal level (else it is off by
(sigma2^2 - sigma1^2) / 2) and show the same anatomy in the same place: motion between the acquisitions
puts anatomy into y1 - y2 and inflates both terms. `pair_noise_sigma`, sqrt(mean((y1 - y2)^2) / 2), is
then well above the single-volume noise estimate: compare them to check. It does not score a result that
used both copies (N2N's mean of two predictions), since y2 is then no longer independent of it.
"""

from __future__ import annotations

import math

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from shared.metrics import psnr_from_mse
from shared.quality.error_figures import check_data_range, rmse_of
from shared.quality.region import as_region, as_volume, same_shape


class PairEstimate(BaseModel):
    """Estimated error of a single-copy prediction, scored against a second noisy acquisition."""

    model_config = ConfigDict(extra="forbid", frozen=True, ser_json_inf_nan="constants")

    mse: float = Field(description="Estimated mean squared error, volume units squared (may be <= 0).")
    rmse: float = Field(description="sqrt(mse) in the volume's units (0 when mse <= 0).")
    psnr: float = Field(description="10 log10(data_range^2 / mse) in dB (inf when mse <= 0).")
    data_range: float = Field(
        description="MAX of the PSNR, volume units (default: the prediction's max - min)."
    )
    pair_noise_sigma: float = Field(
        description="sqrt(mean((y1 - y2)^2) / 2): the noise sigma of one copy if the anatomy did not move."
    )
    voxels: int = Field(description="Voxels the error is estimated over (the mask, or the whole volume).")


def pair_estimate(
    prediction: np.ndarray,
    first: np.ndarray,
    second: np.ndarray,
    *,
    mask: np.ndarray | None = None,
    data_range: float | None = None,
) -> PairEstimate:
    """Estimate the MSE of `prediction` = f(`first`) from a second noisy copy `second` of the same anatomy.

    All three are 2D images or (Z, Y, X) volumes of one shape, in the same units; `mask` restricts the
    estimate to some voxels; `data_range` is PSNR's MAX.
    """
    predicted = as_volume(prediction, "prediction")
    y1 = as_volume(first, "first acquisition")
    y2 = as_volume(second, "second acquisition")
    same_shape(predicted, y1, "the prediction", "the first acquisition")
    same_shape(y2, y1, "the second acquisition", "the first acquisition")
    region = as_region(mask, y1.shape)
    against_second = float(np.mean((predicted - y2)[region] ** 2))
    between_copies = float(np.mean((y1 - y2)[region] ** 2))
    mse = against_second - between_copies / 2
    data_range = check_data_range(float(np.ptp(predicted[region])) if data_range is None else data_range)
    return PairEstimate(
        mse=mse,
        rmse=rmse_of(mse),
        psnr=psnr_from_mse(mse, data_range),
        data_range=data_range,
        pair_noise_sigma=math.sqrt(between_copies / 2),
        voxels=int(region.sum()),
    )


def pair_noise_sigma(first: np.ndarray, second: np.ndarray) -> float | None:
    """The noise sigma of one copy from two acquisitions of the same anatomy, robustly: 1.4826 x the median
    absolute deviation of (y1 - y2) / sqrt(2), over voxels neither copy has masked to exactly 0 (a masked
    background is no noise sample) and robust to the few voxels where the anatomy moved. None when fewer than
    100 voxels are left."""
    y1 = np.asarray(first, dtype=np.float64)
    y2 = np.asarray(second, dtype=np.float64)
    kept = (y1 != 0.0) & (y2 != 0.0)
    if int(kept.sum()) < 100:
        return None
    difference = (y1[kept] - y2[kept]) / math.sqrt(2.0)
    return float(1.4826 * np.median(np.abs(difference - np.median(difference))))
