"""RMSE from an estimated MSE, and the check on PSNR's data range; PSNR itself is shared.metrics.psnr_from_mse.

An unbiased MSE estimate can come out at or below zero when the true error is small against the
estimate's own spread; RMSE is then 0 and PSNR infinite, and the MSE is kept as it came so that
averages over many volumes stay unbiased.
"""

from __future__ import annotations

import math

from shared.errors import ConfigError


def check_data_range(data_range: float) -> float:
    """Refuse a data range that is not a positive finite number (PSNR's MAX)."""
    if not (math.isfinite(data_range) and data_range > 0):
        raise ConfigError(f"data_range must be a positive number, got {data_range}")
    return float(data_range)


def rmse_of(mse: float) -> float:
    """sqrt(MSE), 0 for an estimate at or below zero."""
    return math.sqrt(mse) if mse > 0 else 0.0
