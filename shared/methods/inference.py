"""How a trained model is applied: the options of a prediction, whichever method (no framework)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class InferenceOptions(BaseModel):
    """Options of one denoising with a trained model; the defaults are what `denoise` does unasked."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    noise_sigma: float | None = Field(
        default=None,
        ge=0.0,
        le=255.0,
        description="n2n models told the noise level (the prior): the input's noise sigma on the 0-255 scale "
        "of its normalisation; default: measured (a second acquisition's pair sigma, else the estimate).",
    )
    planes: Literal["one", "three"] = Field(
        default="one",
        description="n2n: 'three' denoises across each of the three axes and averages (where voxels are "
        "near isotropic): better, three times the time.",
    )
