"""The payload of each task: made and validated once by whoever queues it, trusted by the worker.

Paths are relative to DATA_DIR (see shared.jobs.paths). A method's hyper-parameters travel as its typed
config (shared.methods.MethodConfig, a discriminated union on `method`), already validated where the payload
was made; the worker only deserialises it.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared.jobs.paths import ID_PATTERN
from shared.methods import MethodConfig, MethodName
from shared.methods.inference import InferenceOptions
from shared.noise import Sigma


class VolumeInput(BaseModel):
    """An uploaded volume file in the data directory."""

    model_config = ConfigDict(extra="forbid")

    path: str = Field(description="Path relative to DATA_DIR.")
    name: str = Field(description="The file name the user uploaded, for messages.")
    series_uid: str | None = Field(default=None, description="DICOM SeriesInstanceUID to pick, if several.")


class DenoisePayload(BaseModel):
    """Denoise one volume: with a registered model, or by fitting on it first (n2v: on the volume; n2n: on the
    volume alone by recorruption, on it and its second acquisition, or on the repetitions of a series)."""

    model_config = ConfigDict(extra="forbid")

    job_id: str = Field(pattern=ID_PATTERN, description="The job this task belongs to.")
    method: MethodName = Field(description="n2n or n2v.")
    input: VolumeInput = Field(description="The noisy volume to denoise.")
    second: VolumeInput | None = Field(
        default=None, description="A second noisy acquisition (n2n: train on the pair and/or average, Eq. 3)."
    )
    model_id: str | None = Field(default=None, description="Registered model to use; none: fit on the input.")
    config: MethodConfig | None = Field(
        default=None, description="The fit's config (with a model_id: none, the model's own is used)."
    )
    repeats: bool = Field(
        default=False, description="n2n fit: the input series holds repeated acquisitions; pair them."
    )
    volumes: list[int] | None = Field(
        default=None, description="n2n fit: the volumes of the series that are repetitions (implies repeats)."
    )
    result: str = Field(description="Where to write the denoised volume, relative to DATA_DIR.")
    keep_dtype: bool = Field(default=False, description="Write the result in the input's integer data type.")
    options: InferenceOptions = Field(
        default_factory=InferenceOptions, description="How the model is applied (n2n: noise level, planes)."
    )

    @model_validator(mode="after")
    def _model_or_fit(self) -> DenoisePayload:
        """A registered model, or a config to fit with, of this method: exactly one."""
        if (self.model_id is None) == (self.config is None):
            raise ValueError("give either model_id (a registered model) or config (to fit), not both")
        if self.config is not None and self.config.method != self.method:
            raise ValueError(f"config is a {self.config.method} config but the method is {self.method}")
        return self


class TrainPayload(BaseModel):
    """Train a model and register it."""

    model_config = ConfigDict(extra="forbid")

    job_id: str = Field(pattern=ID_PATTERN, description="The job this task belongs to.")
    model_id: str = Field(pattern=ID_PATTERN, description="Registry id the trained model gets.")
    config: MethodConfig = Field(description="The training config; its `method` says which method trains.")
    inputs: list[VolumeInput] = Field(min_length=1, description="Training volumes (clean when sigma is set).")
    second_inputs: list[VolumeInput] = Field(
        default_factory=list, description="n2n: the second noisy acquisition of each input, in order."
    )
    sigma: Sigma | None = Field(default=None, description="Synthetic noise level; the inputs are then clean.")
    repeats: bool = Field(
        default=False, description="n2n: each input series holds repeated acquisitions; pair them."
    )
    volumes: list[int] | None = Field(
        default=None, description="n2n: the volumes of each series that are repetitions (implies repeats)."
    )

    @property
    def method(self) -> MethodName:
        """The method that trains."""
        return self.config.method


class MetricsPayload(BaseModel):
    """Score a volume against its ground truth."""

    model_config = ConfigDict(extra="forbid")

    job_id: str = Field(pattern=ID_PATTERN, description="The job this task belongs to.")
    prediction: VolumeInput = Field(description="The volume to score (a job's result, or an upload).")
    reference: VolumeInput = Field(description="The ground truth.")
    report: str = Field(description="Where to write metrics.json, relative to DATA_DIR.")
