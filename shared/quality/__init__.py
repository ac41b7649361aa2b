"""Quality without a ground truth: how noisy a scan is, how far a result is from the truth, what was removed.

Every function here is a plain function over numpy arrays (numpy, scipy, PyWavelets; no framework) that
returns a pydantic model ready for JSON, so the CLI, the workers and the benchmark report the same fields.

- `estimate_noise_level`: the noise sigma of one volume, two ways (from the air background, Rayleigh for
  magnitude images or Gaussian, and from the wavelet details of the slices with anatomy), in the
  volume's units and on the project's 0-255 scale.
- `monte_carlo_sure`: the estimated error (MSE, RMSE, PSNR) of a denoiser's result on one noisy scan,
  from Stein's unbiased risk estimate with a random-probe divergence (one extra call per probe).
- `pair_estimate`: the same error estimated from a second, independently noisy acquisition.
- `residual` and `summarise_residual`: what a result took out of its input, against the noise level.
- `foreground_mask`: every voxel that is not air, to restrict the estimates to the anatomy.
"""

from shared.quality.background import foreground_mask
from shared.quality.noise_level import NoiseLevel, estimate_noise_level
from shared.quality.pair import PairEstimate, pair_estimate
from shared.quality.residual import ResidualSummary, residual, summarise_residual
from shared.quality.sure import SureEstimate, monte_carlo_sure

__all__ = [
    "NoiseLevel",
    "PairEstimate",
    "ResidualSummary",
    "SureEstimate",
    "estimate_noise_level",
    "foreground_mask",
    "monte_carlo_sure",
    "pair_estimate",
    "residual",
    "summarise_residual",
]
