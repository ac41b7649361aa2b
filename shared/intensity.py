"""Normalisation of a volume's intensities to about [0, 1], and its exact inverse.

Two mappings, for two jobs:
- `robust` (what every method trains and predicts on): the 0.5th and 99.9th percentiles of the volume map
  to 0 and 1. Real scans carry outliers (a hot voxel, a bright artefact): with min-max one voxel of 131070
  in a b0 volume rescaled every other voxel and moved the output's mean by 73 %. Percentiles ignore a few
  thousand such voxels of a typical volume, and values beyond them stay (normalised above 1 or below 0,
  never clipped), so the inverse is exact. Which percentiles a model was trained with is recorded in its
  manifest, and inference normalises its input the same way.
- `min_max` (the paper's protocol): sigma of synthetic noise is defined on the 0-255 scale of the clean
  volume's full [min, max] range, and the benchmark scores on that range.
The mapping travels with the job and the model so an output always comes back on its input's own scale.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from shared.errors import ConstantVolumeError

LOW_PERCENTILE = 0.5
HIGH_PERCENTILE = 99.9
"""The robust mapping's percentiles: 0 and 1 after normalisation."""


class IntensityMapping(BaseModel):
    """The affine map between a volume's own intensities and its normalised scale: (x - low) / (high - low)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    low: float = Field(description="Intensity mapped to 0.")
    high: float = Field(description="Intensity mapped to 1.")
    kind: Literal["min-max", "percentiles"] = Field(
        default="min-max",
        description="min-max: low and high are the volume's extremes; percentiles: its 0.5th and 99.9th "
        "percentiles (or its extremes where those coincide).",
    )

    @classmethod
    def min_max(cls, data: np.ndarray, name: str = "volume") -> IntensityMapping:
        """The min-max mapping of `data` (the paper's protocol); refuses a constant volume."""
        low, high = float(np.min(data)), float(np.max(data))
        _check_range(low, high, name)
        return cls(low=low, high=high, kind="min-max")

    @classmethod
    def robust(
        cls,
        data: np.ndarray,
        name: str = "volume",
        percentiles: tuple[float, float] = (LOW_PERCENTILE, HIGH_PERCENTILE),
    ) -> IntensityMapping:
        """The percentile mapping of `data` (what the methods use), min-max where the percentiles coincide
        (an image that is almost all one value); refuses a constant volume."""
        low, high = (float(v) for v in np.percentile(data, list(percentiles)))
        if not high > low:
            return cls.min_max(data, name)
        return cls(low=low, high=high, kind="percentiles")

    @property
    def scale(self) -> float:
        """Width of the intensity range mapped to [0, 1]."""
        return self.high - self.low

    def normalise(self, data: np.ndarray) -> np.ndarray:
        """Map original intensities to the normalised scale (float32, not clipped)."""
        return ((np.asarray(data, dtype=np.float64) - self.low) / self.scale).astype(np.float32)

    def denormalise(self, data: np.ndarray) -> np.ndarray:
        """Map normalised intensities back to the original scale (float32, not clipped)."""
        return (np.asarray(data, dtype=np.float64) * self.scale + self.low).astype(np.float32)


def _check_range(low: float, high: float, name: str) -> None:
    """Refuse a volume with no intensity range."""
    if not high > low:
        raise ConstantVolumeError(
            f"{name}: every voxel has the value {low:g}; a constant volume has nothing to denoise"
        )


class Normalisation(BaseModel):
    """How a model's inputs are normalised: recorded in its manifest, applied the same way at inference."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["percentiles"] = Field(default="percentiles", description="The robust percentile mapping.")
    low_percentile: float = Field(default=LOW_PERCENTILE, ge=0.0, lt=50.0, description="Maps to 0.")
    high_percentile: float = Field(default=HIGH_PERCENTILE, gt=50.0, le=100.0, description="Maps to 1.")

    def fit(self, data: np.ndarray, name: str = "volume") -> IntensityMapping:
        """The mapping of one volume under this normalisation."""
        return IntensityMapping.robust(data, name, (self.low_percentile, self.high_percentile))

    @classmethod
    def of_model(cls, data_summary: dict[str, object]) -> Normalisation:
        """The normalisation a model's manifest records (models from before it was recorded: the default)."""
        return cls.model_validate(data_summary.get("normalisation") or {})
