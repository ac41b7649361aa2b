"""How good one denoising result is, without a clean reference: the report every denoise job and
`fetal-denoise denoise --quality` give.

From the noisy input, the result and the denoiser itself (a function the report calls once more per SURE
probe): the noise level of the input (`noise_level`), the estimated error of the result (Monte-Carlo
SURE, restricted to the anatomy: the air around it is Rician, not Gaussian, at low SNR), with a second
acquisition the pair estimate of the single-copy prediction, and what was removed (the residual summary).
The figures are in the volume's own units; PSNR is on `data_range`, by default the range (0.5th to 99.9th
percentile) the methods normalise the input to, so it reads like the benchmark's PSNR on [0, 1].
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from shared.intensity import Normalisation
from shared.metrics import psnr_from_mse
from shared.quality.background import foreground_mask
from shared.quality.noise_level import NoiseLevel, ToldNoise, estimate_noise_level
from shared.quality.pair import PairEstimate, pair_estimate
from shared.quality.residual import ResidualSummary, summarise_residual
from shared.quality.sure import SureEstimate, monte_carlo_sure

Denoiser = Callable[[np.ndarray], np.ndarray]

ASSUMPTIONS = (
    "The noise is zero-mean, independent from voxel to voxel and of one level everywhere (Gaussian); "
    "magnitude MRI meets this in tissue, not in the dark air, so the error is estimated over the anatomy.",
    "The noise sigma is estimated from the scan itself (its air background, else its wavelet details); a "
    "wrong sigma moves the estimate by sigma_sensitivity percent per percent.",
    "The pair estimate needs two acquisitions of the same anatomy with independent noise of equal level and "
    "no motion between them; it scores the prediction from the first copy alone.",
)


class QualityReport(BaseModel):
    """Estimated quality of one result, with no clean reference."""

    model_config = ConfigDict(extra="forbid", frozen=True, ser_json_inf_nan="constants")

    method: str = Field(description="The method that made the result (n2n, n2v, ...).")
    noise_sigma: float | None = Field(description="Estimated noise sigma of the input, volume units.")
    noise_sigma_255: float | None = Field(description="The same on the 0-255 scale of the normalised range.")
    rmse_estimate: float | None = Field(
        description="Estimated RMSE of the result against the unknown clean volume (SURE), volume units."
    )
    psnr_estimate: float | None = Field(description="Estimated PSNR of the result in dB, on data_range.")
    rmse_uncertainty: float | None = Field(
        description="Standard error of the RMSE estimate, volume units: from the spread of its per-slice terms "
        "(the probe's randomness and the noise realisation, not a wrong sigma), or with several probes the "
        "larger of that and their Monte-Carlo spread; null when neither exists or the RMSE is 0."
    )
    data_range: float = Field(description="MAX of the PSNR estimates, volume units.")
    residual: ResidualSummary | None = Field(description="What was removed: input - result, summarised.")
    noise: NoiseLevel = Field(description="Both noise estimates in detail.")
    sure: SureEstimate | None = Field(description="The SURE estimate in detail; null without a noise sigma.")
    pair: PairEstimate | None = Field(
        default=None,
        description="With a second acquisition: the pair estimate of the single-copy prediction.",
    )
    input_psnr_estimate: float | None = Field(
        default=None,
        description="The noisy input's own PSNR by the same noise sigma, 20 log10(data_range / noise_sigma), dB: "
        "what the result must beat.",
    )
    gain_estimate_db: float | None = Field(
        default=None, description="psnr_estimate minus input_psnr_estimate: below 0, the result is worse."
    )
    warnings: list[str] = Field(
        default_factory=list,
        description="What a user should not miss: a result estimated worse than its input, or two copies that "
        "differ by more than their noise.",
    )
    assumptions: list[str] = Field(description="What the estimates assume, and where they break.")
    model: ModelUse | None = Field(
        default=None,
        description="Which model made the result: the shipped prior or a model fine-tuned from it (with the "
        "weights' sha256) and the noise sigma it was told.",
    )


class ModelUse(BaseModel):
    """The model behind a result, as a report and a job record name it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    model: str = Field(description="'prior' (the shipped prior), or the model directory's name.")
    weights_sha256: str | None = Field(description="sha256 of the weights file, from the model's manifest.")
    started_from: dict[str, Any] | None = Field(
        default=None, description="A fine-tuned model: the prior it started from (id, weights sha256)."
    )
    noise_told: ToldNoise | None = Field(
        default=None, description="The noise level the model was told (models with a noise map)."
    )


def assess(
    noisy: np.ndarray,
    result: np.ndarray,
    denoiser: Denoiser,
    *,
    method: str,
    slice_axis: int = 0,
    second: np.ndarray | None = None,
    single_copy: np.ndarray | None = None,
    sigma: float | None = None,
    probes: int = 1,
    seed: int = 0,
) -> QualityReport:
    """The quality report of `result` = `denoiser(noisy)` (3D arrays, the volume's units).

    `sigma` overrides the estimated noise level; `second` (a second acquisition) with `single_copy` (the
    prediction from `noisy` alone) adds the pair estimate.
    """
    mapping = Normalisation().fit(noisy)
    level = estimate_noise_level(noisy, mapping, slice_axis=slice_axis)
    noise = float(sigma) if sigma is not None else level.sigma
    data_range = mapping.scale
    anatomy = foreground_mask(noisy, slice_axis=slice_axis)
    sure = residual = None
    if noise is not None and noise > 0:
        sure = monte_carlo_sure(
            denoiser,
            noisy,
            noise,
            result=result,
            mask=anatomy,
            probes=probes,
            data_range=data_range,
            seed=seed,
            slice_axis=slice_axis,
        )
        residual = summarise_residual(noisy, result, noise, mask=anatomy)
    pair = None
    if second is not None and single_copy is not None:
        pair = pair_estimate(single_copy, noisy, second, mask=anatomy, data_range=data_range)
    input_psnr = None if noise is None or noise <= 0 else psnr_from_mse(noise**2, data_range)
    invalid = invalid_reason(sure, noise) if sure is not None and noise is not None else None
    if sure is not None and sigma is None and level.source == "local":
        # The cause comes first: whatever SURE gave, it assumed white noise.
        invalid = (
            "the noise is spatially correlated (its one-voxel wavelet details hold "
            f"{level.wavelet.sigma / level.local.sigma:.2f} of its sd; white noise: 1), and SURE assumes white "
            "noise; a second acquisition (pair estimate) measures the error of correlated noise"
            if level.wavelet.sigma is not None and level.local.sigma
            else "the noise level comes from the local estimate (correlated noise), which SURE cannot use"
        )
    valid = sure if invalid is None else None
    gain = None if valid is None or input_psnr is None else valid.psnr - input_psnr
    uncertainty = None
    if valid is not None and valid.rmse > 0:
        errors = [e for e in (valid.mse_slice_standard_error, valid.mse_standard_error) if e is not None]
        if errors:
            uncertainty = max(errors) / (2 * valid.rmse)  # d sqrt(m) = dm / (2 sqrt(m))
    return QualityReport(
        method=method,
        noise_sigma=noise,
        noise_sigma_255=None if noise is None else 255 * noise / data_range,
        rmse_estimate=None if valid is None else valid.rmse,
        psnr_estimate=None if valid is None else valid.psnr,
        rmse_uncertainty=uncertainty,
        data_range=data_range,
        residual=residual,
        noise=level,
        sure=sure,
        pair=pair,
        input_psnr_estimate=input_psnr,
        gain_estimate_db=gain,
        warnings=([f"no valid estimate of the result's error: {invalid}"] if invalid else [])
        + _warnings(gain, noise, pair, level),
        assumptions=list(ASSUMPTIONS),
    )


CHANGED_PAIR_RATIO = 1.5
"""Pair noise above this multiple of the estimated sigma: the copies differ by more than noise."""


IMPLAUSIBLE_GAIN_DB = 30.0
"""A SURE estimate more than 30 dB below the input's noise power is not believed: no denoiser removes
99.9 % of the noise of a real scan; such a figure means the noise model (white, of that sigma) is wrong."""

PAIR_BELOW_ESTIMATE = 1.5
"""A pair sigma below the single-volume estimate by this factor: the estimate (and what it drives) is off."""


def invalid_reason(sure: SureEstimate, noise: float) -> str | None:
    """Why a SURE estimate is not a valid error estimate (then no RMSE, PSNR or gain is reported), or None.

    A negative or zero MSE is impossible for an error; one within two standard errors of zero is
    indistinguishable from it; one far below the noise power is implausible (IMPLAUSIBLE_GAIN_DB). All three
    happen when the noise is not what SURE assumes (correlated, or of another level than the one used).
    """
    if sure.mse <= 0.0:
        return "SURE gave a negative mean squared error, so the noise is not white at the sigma used"
    errors = [e for e in (sure.mse_slice_standard_error, sure.mse_standard_error) if e is not None]
    if errors and sure.mse < 2.0 * max(errors):
        return "SURE's error is within two standard errors of zero"
    if noise > 0 and 10.0 * np.log10(noise**2 / sure.mse) > IMPLAUSIBLE_GAIN_DB:
        return f"SURE's error is implausibly small (over {IMPLAUSIBLE_GAIN_DB:g} dB below the noise)"
    return None


def _warnings(
    gain: float | None, noise: float | None, pair: PairEstimate | None, level: NoiseLevel | None = None
) -> list[str]:
    """The findings a user must see before trusting the result or its figures."""
    found: list[str] = []
    if (
        pair is not None
        and level is not None
        and level.sigma
        and (pair.pair_noise_sigma * PAIR_BELOW_ESTIMATE < level.sigma)
    ):
        found.append(
            f"the noise estimated from the input alone ({level.sigma:.4g}) is {level.sigma / pair.pair_noise_sigma:.1f} x "
            "the sigma its two copies differ by: the single-volume estimate is off (correlated noise or a "
            "masked background), and the pair's is used"
        )
    if pair is not None and pair.mse > pair.pair_noise_sigma**2:
        found.append(
            "the second acquisition says the result is worse than its input (pair estimate of the error "
            f"{pair.rmse:.4g} above the noise {pair.pair_noise_sigma:.4g}): keep the input, or fit on the pair"
        )
    if gain is not None and gain < 0:
        found.append(
            f"the result is estimated {-gain:.1f} dB worse than its input (SURE against the input's own noise "
            "level): keep the input, or fit longer, or try the other method"
        )
    if pair is not None and noise and pair.pair_noise_sigma > CHANGED_PAIR_RATIO * noise:
        found.append(
            f"the two copies differ by {pair.pair_noise_sigma / noise:.1f} x the noise level estimated from the "
            "first: motion or another change between the acquisitions (or noise stronger in the tissue than "
            "in the air); the pair estimate counts that change as error"
        )
    return found
