"""The estimated error of a denoiser's result on one noisy scan: Monte-Carlo SURE (Ramani, Blu, Unser 2008).

For y = x + n with n zero-mean Gaussian of known sd sigma, independent of x and from voxel to voxel,
Stein's lemma gives an unbiased estimate of the mean squared error of any weakly differentiable f:
    SURE / N = ||y - f(y)||^2 / N - sigma^2 + 2 sigma^2 div f(y) / N,
with div f = sum_i d f_i / d y_i. Ramani et al. (IEEE TIP 17:1540) estimate the divergence of a black
box from its response to a random probe b ~ N(0, I):
    div f(y) ~ b . (f(y + eps b) - f(y)) / eps,
exact in expectation over b as eps -> 0, so it costs one extra call of f per probe. The step must be
small for the first-order difference to hold, and large against the arithmetic's rounding: eps defaults
to sigma / 100 (EPS_FRACTION), a perturbation far inside the noise the denoiser is built for, and
thousands of times the float32 resolution of intensities normalised to [0, 1] (on the noisy 2 mm MNI152
template, TV denoising and soft thresholding give the same estimate within 0.1 % for eps from sigma / 10^4
to sigma / 10, and soft thresholding is 8 % off at eps = sigma). Several probes give a
Monte-Carlo standard error; on a whole volume one probe is usually enough (the divergence of a smoother
over N voxels varies by about sqrt(2 / N) of itself between probes).

The estimate is a mean of per-voxel SURE terms, so even one probe gives an uncertainty, with no further call
of f: `mse_slice_standard_error`, from how the terms' mean differs between neighbouring slices (the
mean-square successive difference of von Neumann, each pair weighted by its slices' voxel counts). Slices
are near-independent blocks of the noise and of the probe, so this spread covers the probe's randomness
and the noise realisation; it does not cover a wrong sigma (every slice is off alike: see
`sigma_sensitivity`) nor a bias of f's divergence. Differences of neighbouring slices leave out the slow
change of the true error through the anatomy, which a plain spread across slices would count (ten times
too wide on the template); what changes from one slice to the next still counts, so it errs wide: for a
Gaussian smoother (sd 1 voxel) on the noisy 2 mm template, 3.7e-5 against a measured spread of SURE minus
the true MSE of 1.5e-5 over 8 noise draws (MSE 5.9e-3). A denoiser that couples neighbouring slices
makes their terms alike and could make it narrow; with one slice (a 2D image), its rows are the blocks.

Restricted to a mask M, the same identity gives the error over M alone (sums over M, divided by |M|),
with the probe still over the whole volume.

Assumptions, and where they break:
- the noise is zero-mean, Gaussian, white and signal-independent, with the sigma given. A wrong sigma
  matters a lot for a good denoiser: the MSE estimate moves by -2 sigma^2 (1 - 2 div/N) times the
  relative error of sigma, which is large against a small MSE (`sigma_sensitivity` says how large).
  Correlated noise (k-space filtering, interpolation) breaks the identity.
- magnitude MR noise is Rician: in the air and at low SNR it is neither Gaussian nor zero-mean. Restrict
  SURE to the anatomy (`mask=foreground_mask(noisy)`), where at SNR above ~3 it is close to Gaussian.
- clipped or integer-rounded data are not y = x + Gaussian noise near the clip or at a small sigma.
- f must be deterministic (no dropout or random augmentation at prediction time, the same tiling) and
  smooth at the scale of eps; a ReLU network is piecewise linear, which suffices. Run f in float32:
  bfloat16 rounding (0.4 %) can be larger than the response to a probe of sigma / 100.

`error_correlation` applies the same identity to the covariance of the result and the residual y - f(y),
whose noise part is sigma^2 div/N by Stein's lemma. What is left, divided by the sd of the result and
the estimated RMSE, estimates the correlation of the result with its own error x - f(y). An optimal
(MMSE) denoiser makes its error orthogonal to its result (about 0); positive values mean the result
lacks signal that it partly shows (over-smoothing: contrast or edges taken out with the noise);
negative values mean it keeps or adds noise (under-smoothing).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from shared.errors import ConfigError, JobError, ShapeMismatchError
from shared.metrics import psnr_from_mse
from shared.quality.error_figures import check_data_range, rmse_of
from shared.quality.region import as_region, as_volume, same_shape

Denoiser = Callable[[np.ndarray], np.ndarray]
"""A deterministic map from a noisy array to its denoised version of the same shape."""

EPS_FRACTION = 0.01
"""Default probe step eps as a fraction of sigma."""
PROBE_STREAM = 0x5E7E
"""Spawn key of the probes' random stream: probes drawn with the plain seed would be the very noise that
`np.random.default_rng(seed)` (shared.noise, the benchmarks) adds, and a probe equal to the noise
biases the divergence of a non-linear denoiser (soft thresholding: 0.42 instead of 0.25)."""


class SureEstimate(BaseModel):
    """Estimated error of one result without a reference (Monte-Carlo SURE) and what it assumed."""

    model_config = ConfigDict(extra="forbid", frozen=True, ser_json_inf_nan="constants")

    mse: float = Field(description="Estimated mean squared error, volume units squared (may be <= 0).")
    rmse: float = Field(description="sqrt(mse) in the volume's units (0 when mse <= 0).")
    psnr: float = Field(description="10 log10(data_range^2 / mse) in dB (inf when mse <= 0).")
    data_range: float = Field(description="MAX of the PSNR, volume units (default: the result's max - min).")
    mse_standard_error: float | None = Field(
        description="Monte-Carlo standard error of mse over the probes; null with one probe."
    )
    mse_slice_standard_error: float | None = Field(
        default=None,
        description="Standard error of mse from the spread of its per-slice terms (neighbouring slices' "
        "differences), with any number of probes: covers the probe's randomness and the noise realisation, "
        "not a wrong sigma; null with fewer than 3 slices in the region.",
    )
    sigma: float = Field(description="Noise sigma assumed, volume units.")
    sigma_sensitivity: float | None = Field(
        description="Change of the RMSE estimate, in %, if sigma were 1 % higher; null when mse <= 0."
    )
    divergence_per_voxel: float = Field(
        description="Mean of d f_i / d y_i over the region: the share of the noise the result keeps."
    )
    error_correlation: float | None = Field(
        description="Estimated correlation of the result with its error x - f(y): ~0 optimal, "
        "> 0 signal removed, < 0 noise kept; null when mse <= 0."
    )
    probes: int = Field(description="Random probes b ~ N(0, 1), one extra call of the denoiser each.")
    epsilon: float = Field(description="Probe step in volume units.")
    voxels: int = Field(description="Voxels the error is estimated over (the mask, or the whole volume).")


def _check_output(output: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """The denoiser's output as float64 (Z, Y, X); refuses a change of shape or NaN/Inf."""
    array = np.asarray(output, dtype=np.float64)
    if array.size == math.prod(shape) and array.ndim == len(shape) - 1:
        array = array[np.newaxis]
    if array.shape != shape:
        raise ShapeMismatchError(f"the denoiser returned shape {array.shape} for an input of shape {shape}")
    if not np.isfinite(array).all():
        raise JobError("the denoiser returned NaN or infinite values; SURE needs finite outputs")
    return array


def _slice_standard_error(terms: np.ndarray, region: np.ndarray, axis: int) -> float | None:
    """Standard error of the mean of `terms` over `region` from its per-slice means along `axis`.

    Neighbouring slices k, k+1 with n_k voxels and means m_k give (m_k - m_k+1)^2 / (1/n_k + 1/n_k+1) / 2,
    an estimate of the per-voxel variance v that a slow trend of the means does not inflate; the mean over
    all n voxels then has variance v / n. Null with fewer than 3 slices holding region voxels.
    """
    other = tuple(index for index in range(terms.ndim) if index != axis)
    counts = region.sum(axis=other)
    sums = np.where(region, terms, 0.0).sum(axis=other)
    kept = counts > 0
    counts, sums = counts[kept].astype(np.float64), sums[kept]
    if counts.size < 3:
        return None
    means = sums / counts
    variance = float(np.mean((means[1:] - means[:-1]) ** 2 / (1 / counts[1:] + 1 / counts[:-1]))) / 2
    return math.sqrt(variance / counts.sum())


def _block_axis(slice_axis: int | None, ndim: int) -> int:
    """The axis of the (Z, Y, X) view whose slices are the blocks: the rows of a 2D image by default."""
    if slice_axis is None:
        return 1 if ndim == 2 else 0
    if not -3 <= slice_axis < 3:
        raise ConfigError(f"slice_axis must be 0, 1 or 2, got {slice_axis}")
    return slice_axis % 3


def monte_carlo_sure(
    denoiser: Denoiser,
    noisy: np.ndarray,
    sigma: float,
    *,
    result: np.ndarray | None = None,
    mask: np.ndarray | None = None,
    probes: int = 1,
    epsilon: float | None = None,
    data_range: float | None = None,
    seed: int = 0,
    slice_axis: int | None = None,
) -> SureEstimate:
    """Estimate the MSE of `denoiser(noisy)` against the unknown clean image, given the noise sigma.

    `noisy` is a 2D image or a (Z, Y, X) volume, passed to `denoiser` with its own dtype and shape;
    `result`, when given, must be `denoiser(noisy)` (it saves that call). `sigma`, `epsilon` and
    `data_range` are in the volume's units; `mask` restricts the estimate to some voxels; `seed` makes
    the probes reproducible (from a stream of their own, never the noise drawn with the same seed);
    `slice_axis` names the slices of the single-probe standard error (default: axis 0 of a volume, the
    rows of a 2D image).
    """
    if not (math.isfinite(sigma) and sigma > 0):
        raise ConfigError(f"sigma must be a positive number, got {sigma}")
    if probes < 1:
        raise ConfigError(f"probes must be at least 1, got {probes}")
    eps = EPS_FRACTION * sigma if epsilon is None else float(epsilon)
    if not (math.isfinite(eps) and eps > 0):
        raise ConfigError(f"epsilon must be a positive number, got {epsilon}")
    original = np.asarray(noisy)
    input_dtype = original.dtype if np.issubdtype(original.dtype, np.floating) else np.dtype(np.float32)
    y = as_volume(original, "noisy input")
    region = as_region(mask, y.shape)
    if result is None:
        result = denoiser(original.astype(input_dtype, copy=False))
    fy = _check_output(result, y.shape)
    same_shape(fy, y, "the result", "the noisy input")

    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(PROBE_STREAM,)))
    residual = (y - fy)[region]
    fit = float(np.mean(residual**2))
    divergences = []
    divergence_map = np.zeros(y.shape)
    for _ in range(probes):
        probe = rng.standard_normal(y.shape)
        moved = (y + eps * probe).reshape(original.shape).astype(input_dtype)
        response = _check_output(denoiser(moved), y.shape) - fy
        divergence_map += probe * response / eps
        divergences.append(float(np.mean((probe * response)[region])) / eps)
    div = float(np.mean(divergences))
    terms = (y - fy) ** 2 - sigma**2 + 2 * sigma**2 * divergence_map / probes
    estimates = [fit - sigma**2 + 2 * sigma**2 * d for d in divergences]
    mse = float(np.mean(estimates))
    spread = float(np.std(estimates, ddof=1) / math.sqrt(probes)) if probes > 1 else None

    kept = fy[region]
    data_range = check_data_range(float(np.ptp(kept)) if data_range is None else data_range)
    covariance = float(np.mean((kept - kept.mean()) * (residual - residual.mean())))
    rmse = rmse_of(mse)
    result_sd = float(kept.std())
    error_correlation = (
        (covariance - sigma**2 * div) / (result_sd * rmse) if rmse > 0 and result_sd > 0 else None
    )
    sensitivity = sigma**2 * (2 * div - 1) / mse if mse > 0 else None  # 100 * (dMSE/MSE) / 2 per +1 %
    return SureEstimate(
        mse=mse,
        rmse=rmse,
        psnr=psnr_from_mse(mse, data_range),
        data_range=data_range,
        mse_standard_error=spread,
        mse_slice_standard_error=_slice_standard_error(terms, region, _block_axis(slice_axis, original.ndim)),
        sigma=float(sigma),
        sigma_sensitivity=sensitivity,
        divergence_per_voxel=div,
        error_correlation=error_correlation,
        probes=probes,
        epsilon=eps,
        voxels=int(region.sum()),
    )
