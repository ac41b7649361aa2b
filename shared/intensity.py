"""Per-volume normalisation to [0, 1] and its exact inverse.

Every method trains and predicts on normalised intensities; the mapping travels with the job so the
output comes back on the input's own scale.
"""

from __future__ import annotations

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from shared.errors import ConstantVolumeError


class IntensityMapping(BaseModel):
    """The affine map between a volume's own intensities and [0, 1]: normalised = (x - low) / (high - low)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    low: float = Field(description="Intensity mapped to 0 (the volume's minimum).")
    high: float = Field(description="Intensity mapped to 1 (the volume's maximum).")

    @classmethod
    def fit(cls, data: np.ndarray, name: str = "volume") -> IntensityMapping:
        """The min-max mapping of `data`; refuses a constant volume, which has no range."""
        low = float(np.min(data))
        high = float(np.max(data))
        if not high > low:
            raise ConstantVolumeError(
                f"{name}: every voxel has the value {low:g}; a constant volume has nothing to denoise"
            )
        return cls(low=low, high=high)

    @property
    def scale(self) -> float:
        """Width of the original intensity range."""
        return self.high - self.low

    def normalise(self, data: np.ndarray) -> np.ndarray:
        """Map original intensities to the normalised scale (float32, not clipped)."""
        return ((np.asarray(data, dtype=np.float64) - self.low) / self.scale).astype(np.float32)

    def denormalise(self, data: np.ndarray) -> np.ndarray:
        """Map normalised intensities back to the original scale (float32, not clipped)."""
        return (np.asarray(data, dtype=np.float64) * self.scale + self.low).astype(np.float32)
