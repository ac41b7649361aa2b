"""The noise level of one volume: the wavelet and the air-background estimate side by side, and which to use.

Both are reported in the volume's own units and on the project's 0-255 scale, sigma / scale * 255,
where scale is the width of the intensity range the methods normalise to [0, 1]: by default that of
`shared.intensity.Normalisation` (the 0.5th to 99.9th percentile, as every method normalises its input),
or the `IntensityMapping` passed in. So the 0-255 figure is the sigma a method sees. It differs from a
synthetic sigma stated on the clean volume's min-max range (the paper's protocol, `fetal-denoise
noise`): pass `IntensityMapping.min_max(clean)` to compare with one.

The preferred sigma (`sigma`, `source`) is the background one when the volume has air of pure noise: it
measures noise alone, correlated or not, whereas anatomy leaks into the wavelet estimate at low noise and
Rayleigh air pulls it down on magnitude images. Otherwise (the anatomy fills the field of view, or the air
was masked to zero) it is the wavelet one, unless the local estimate (the variance of the flattest blocks of
the anatomy) reads CORRELATED_RATIO times more or the wavelet has none: the wavelet reads the one-voxel
details only, and noise smoothed by the scanner's filtering or interpolation has moved out of them (see
`shared.quality.local_noise`).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from shared.errors import ConfigError
from shared.intensity import IntensityMapping, Normalisation
from shared.quality.background_noise import BackgroundNoiseEstimate, estimate_background_sigma
from shared.quality.local_noise import LocalNoiseEstimate, estimate_local_sigma
from shared.quality.region import as_volume
from shared.quality.wavelet_noise import WaveletNoiseEstimate, estimate_wavelet_sigma
from shared.volume import Volume

NoiseSource = Literal["background", "wavelet", "local"]

CORRELATED_RATIO = 2.5
"""The local estimate replaces the wavelet one when it reads this many times more: noise at coarser scales
than a voxel. Ratios in `benchmarks/results/noise-estimates.json` (`fetal-denoise benchmark
--noise-estimates`), 1 mm block of the MNI152 template with a zeroed background, sigma 10-30 of 255: white
noise 1.01-1.03, noise smoothed by a Gaussian of 0.5 voxel 1.4, of 0.8 voxel 3.3-3.9, of 1.2 voxels 6.1-10.
On nibabel's real EPI (masked), whose pair sigma lies below both estimates, 2.35. The ratio is set high
because the two errors are not alike: a model told twice the noise smooths anatomy away (the prior falls
below its input, `prior-sigma20.json`), told half it still removes most of it. So mildly correlated noise
(0.5 voxel) keeps the wavelet figure, about 0.7 of the truth. Known failure: fine anatomy at low noise (the
template subsampled to 2 mm, sigma 5) takes the local figure, about 3.5 x the truth: a second acquisition
(its pair sigma) or a stated sigma is then the way."""


class NoiseLevel(BaseModel):
    """How noisy a volume is: the preferred sigma, and each estimate with its details."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    sigma: float | None = Field(
        description="Preferred noise sigma in the volume's units: background if available, else local when "
        "it reads far above the wavelet (correlated noise), else wavelet."
    )
    sigma_255: float | None = Field(description="The preferred sigma on the 0-255 scale of `scale`.")
    source: NoiseSource | None = Field(
        description="Which estimate `sigma` is; null when neither is available."
    )
    scale: float = Field(
        description="Width of the intensity range (volume units) that the 0-255 scale refers to."
    )
    wavelet: WaveletNoiseEstimate = Field(
        description="Wavelet (Gaussian) estimate over the slices with anatomy."
    )
    background: BackgroundNoiseEstimate = Field(
        description="Estimate from the air background (Rayleigh for magnitude images, or Gaussian)."
    )
    local: LocalNoiseEstimate = Field(
        description="Estimate from the variance of the flattest blocks of the anatomy, taken when there is no "
        "air to measure; it holds spatially correlated noise that the wavelet details miss."
    )


def estimate_noise_level(
    data: np.ndarray,
    mapping: IntensityMapping | None = None,
    slice_axis: int = 0,
    name: str = "volume",
) -> NoiseLevel:
    """Estimate the noise sigma of a 2D image or a (Z, Y, X) volume, in its units and on the 0-255 scale.

    `mapping` is the normalisation whose range the 0-255 figures refer to (default: the methods' robust
    percentiles of this volume); `slice_axis` is the axis the 2D slices are taken across.
    """
    volume = as_volume(data, name)
    if np.ndim(data) == 3 and slice_axis not in (0, 1, 2):
        raise ConfigError(f"slice_axis must be 0, 1 or 2 for a 3D volume, got {slice_axis}")
    axis = slice_axis if np.ndim(data) == 3 else 0
    if mapping is None:
        mapping = Normalisation().fit(volume, name=name)
    wavelet = estimate_wavelet_sigma(volume, mapping.scale, axis)
    background = estimate_background_sigma(volume, mapping.scale, wavelet.sigma or 0.0, axis)
    if background.sigma is not None:
        local = LocalNoiseEstimate(
            sigma=None, sigma_255=None, blocks_used=0, reason="not needed: the air background was measured"
        )
    else:
        local = estimate_local_sigma(volume, mapping.scale)
    source: NoiseSource | None = None
    sigma: float | None = None
    sigma_255: float | None = None
    if background.sigma is not None:
        source, sigma, sigma_255 = "background", background.sigma, background.sigma_255
    elif local.sigma is not None and (
        wavelet.sigma is None or local.sigma >= CORRELATED_RATIO * wavelet.sigma
    ):
        source, sigma, sigma_255 = "local", local.sigma, local.sigma_255
    elif wavelet.sigma is not None:
        source, sigma, sigma_255 = "wavelet", wavelet.sigma, wavelet.sigma_255
    return NoiseLevel(
        sigma=sigma,
        sigma_255=sigma_255,
        source=source,
        scale=mapping.scale,
        wavelet=wavelet,
        background=background,
        local=local,
    )


TellSource = Literal["given", "pair", "background", "wavelet", "local", "none"]


class ToldNoise(BaseModel):
    """The noise level a noise-level-aware model is told about its input, and where it came from."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    sigma: float = Field(description="Noise sigma in the input's units.")
    sigma_255: float = Field(description="The same on the 0-255 scale of the input's normalisation.")
    source: TellSource = Field(
        description="given: the caller's; pair: measured between the input and its second acquisition; "
        "background / wavelet / local: the project's estimate from the input alone; none: nothing could be measured "
        "(the model is told 0: no noise)."
    )


def told_noise_level(
    data: np.ndarray,
    mapping: IntensityMapping,
    slice_axis: int,
    *,
    second: np.ndarray | None = None,
    given: float | None = None,
    name: str = "input",
) -> ToldNoise:
    """The sigma to tell a model about `data`: the caller's (`given`, on the 0-255 scale of `mapping`),
    else a second acquisition's pair sigma (it measures the noise itself, where a single-volume estimate
    can be fooled by correlated noise or a masked background), else the project's estimate."""
    from shared.quality.pair import pair_noise_sigma

    if given is not None:
        if not 0.0 <= given <= 255.0:
            raise ConfigError(f"noise_sigma must be between 0 and 255 (0-255 scale), got {given:g}")
        return ToldNoise(sigma=given / 255.0 * mapping.scale, sigma_255=given, source="given")
    if second is not None:
        measured = pair_noise_sigma(data, second)
        if measured is not None and measured > 0.0:
            return ToldNoise(sigma=measured, sigma_255=measured / mapping.scale * 255.0, source="pair")
    level = estimate_noise_level(data, mapping, slice_axis=slice_axis, name=name)
    if level.sigma is None or level.source is None:
        return ToldNoise(sigma=0.0, sigma_255=0.0, source="none")
    return ToldNoise(sigma=level.sigma, sigma_255=level.sigma * 255.0 / mapping.scale, source=level.source)


def told_noise_of_volume(
    volume: Volume,
    normalisation: Normalisation,
    *,
    second: Volume | None = None,
    given: float | None = None,
    mapping: IntensityMapping | None = None,
) -> ToldNoise:
    """`told_noise_level` of a volume as a model with `normalisation` sees it, along its acquisition axis (the
    axis the quality report measures along): the one place the prediction and the report both ask."""
    from shared.slices import acquisition_axis

    return told_noise_level(
        volume.data,
        mapping or normalisation.fit(volume.data, "input"),
        acquisition_axis(volume),
        second=second.data if second is not None else None,
        given=given,
    )
