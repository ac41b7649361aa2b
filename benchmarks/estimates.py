"""Quality without a ground truth, checked against the truth: for a learned row, what the estimators of
shared.quality say (noise sigma, SURE RMSE, the pair estimate) next to the true figures.

Every figure is on the benchmark's [0, 1] scale (sigma also on the 0-255 scale of it) and over the same
voxels: the anatomy that `foreground_mask` finds in the noisy input, where SURE is estimated (the air
around it holds no signal to get wrong). A relative error of +10 % means the estimate is 10 % too high.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from shared.intensity import IntensityMapping
from shared.quality.background import foreground_mask
from shared.quality.noise_level import estimate_noise_level
from shared.quality.pair import pair_estimate
from shared.quality.sure import monte_carlo_sure

Denoiser = Callable[[np.ndarray], np.ndarray]
UNIT = IntensityMapping(low=0.0, high=1.0)
"""The benchmark's scale: the clean template's min-max [0, 1], on which its sigma is defined."""


def _relative(estimate: float | None, truth: float) -> float | None:
    return None if estimate is None or truth == 0 else round(estimate / truth - 1.0, 4)


def row_estimates(
    noisy: np.ndarray,
    clean: np.ndarray,
    result: np.ndarray,
    denoiser: Denoiser,
    sigma: float,
    *,
    slice_axis: int = 0,
    second: np.ndarray | None = None,
    single_copy: np.ndarray | None = None,
) -> dict[str, float | None]:
    """Estimated and true noise sigma, RMSE (SURE) and, with a second copy, the single-copy pair RMSE.

    `noisy`, `clean` and `result` are the same (Z, Y, X) array (a volume, or stacked test slices with
    `slice_axis` 0); `denoiser` maps a noisy array of that shape to its result; `sigma` is the truth on the
    0-255 scale.
    """
    level = estimate_noise_level(noisy, UNIT, slice_axis=slice_axis)
    region = foreground_mask(noisy, slice_axis=slice_axis)
    true_rmse = float(np.sqrt(np.mean((result - clean)[region] ** 2)))
    estimates: dict[str, float | None] = {
        "sigma_true_255": sigma,
        "sigma_estimated_255": level.sigma_255,
        "sigma_relative_error": _relative(level.sigma_255, sigma),
        "rmse_true": true_rmse,
        "rmse_sure": None,
        "rmse_sure_relative_error": None,
        "region_voxels": float(region.sum()),
    }
    if level.sigma is not None:
        sure = monte_carlo_sure(denoiser, noisy, level.sigma, result=result, mask=region, data_range=1.0)
        estimates["rmse_sure"] = sure.rmse
        estimates["rmse_sure_relative_error"] = _relative(sure.rmse, true_rmse)
    if second is not None and single_copy is not None:
        pair = pair_estimate(single_copy, noisy, second, mask=region, data_range=1.0)
        single_true = float(np.sqrt(np.mean((single_copy - clean)[region] ** 2)))
        estimates |= {
            "rmse_pair": pair.rmse,
            "rmse_pair_true": single_true,
            "rmse_pair_relative_error": _relative(pair.rmse, single_true),
        }
    return estimates
