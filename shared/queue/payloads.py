"""The payload of each task: what the gateway sends and what a worker validates before it starts.

Paths are relative to DATA_DIR (see shared.jobs.paths); `params` are the method's config fields,
already validated by the gateway against the worker's pydantic config and validated again by the worker.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.jobs.paths import ID_PATTERN

Method = Literal["n2n", "n2v"]


class VolumeInput(BaseModel):
    """An uploaded volume file in the data directory."""

    model_config = ConfigDict(extra="forbid")

    path: str = Field(description="Path relative to DATA_DIR.")
    name: str = Field(description="The file name the user uploaded, for messages.")
    series_uid: str | None = Field(default=None, description="DICOM SeriesInstanceUID to pick, if several.")


class DenoisePayload(BaseModel):
    """Denoise one volume: with a registered model, or by fitting on the volume (n2v) or its pair (n2n)."""

    model_config = ConfigDict(extra="forbid")

    job_id: str = Field(pattern=ID_PATTERN, description="The job this task belongs to.")
    method: Method = Field(description="n2n or n2v.")
    input: VolumeInput = Field(description="The noisy volume to denoise.")
    second: VolumeInput | None = Field(
        default=None, description="A second noisy acquisition (n2n: train on the pair and/or average, Eq. 3)."
    )
    model_id: str | None = Field(default=None, description="Registered model to use; none: fit on the input.")
    params: dict[str, Any] = Field(default_factory=dict, description="Config fields for fitting.")
    result: str = Field(description="Where to write the denoised volume, relative to DATA_DIR.")


class TrainPayload(BaseModel):
    """Train a model and register it."""

    model_config = ConfigDict(extra="forbid")

    job_id: str = Field(pattern=ID_PATTERN, description="The job this task belongs to.")
    method: Method = Field(description="n2n or n2v.")
    model_id: str = Field(pattern=ID_PATTERN, description="Registry id the trained model gets.")
    inputs: list[VolumeInput] = Field(min_length=1, description="Training volumes (clean when sigma is set).")
    seconds: list[VolumeInput] = Field(
        default_factory=list, description="n2n: the second noisy acquisition of each input, in order."
    )
    sigma: float | None = Field(
        default=None,
        ge=0.0,
        le=255.0,
        description="Synthetic noise on the 0-255 scale; inputs are then clean.",
    )
    params: dict[str, Any] = Field(default_factory=dict, description="Config fields of the method.")


class MetricsPayload(BaseModel):
    """Score a volume against its ground truth."""

    model_config = ConfigDict(extra="forbid")

    job_id: str = Field(pattern=ID_PATTERN, description="The job this task belongs to.")
    prediction: VolumeInput = Field(description="The volume to score (a job's result, or an upload).")
    reference: VolumeInput = Field(description="The ground truth.")
    report: str = Field(description="Where to write metrics.json, relative to DATA_DIR.")
