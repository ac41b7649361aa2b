"""Quality without a ground truth: how noisy a scan is, how far a result is from the truth, what was removed.

Every function here is a plain function over numpy arrays (numpy, scipy, PyWavelets; no framework) that
returns a pydantic model ready for JSON, so the CLI, the workers and the benchmark report the same fields.

- `estimate_noise_level`: the noise sigma of one volume, two ways (from the air background, Rayleigh for
  magnitude images or Gaussian, and from the wavelet details of the slices with anatomy), in the
  volume's units and on the project's 0-255 scale.
- `foreground_mask`: every voxel that is not air, to restrict the estimates to the anatomy.
"""

from shared.quality.background import foreground_mask
from shared.quality.noise_level import NoiseLevel, estimate_noise_level

__all__ = ["NoiseLevel", "estimate_noise_level", "foreground_mask"]
