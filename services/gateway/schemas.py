"""Response bodies of the gateway (request bodies are multipart forms, declared in the routes)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.methods import MethodName
from shared.progress import Progress

JobStatus = Literal["queued", "running", "succeeded", "failed"]


class Accepted(BaseModel):
    """A job was accepted and queued."""

    model_config = ConfigDict(extra="forbid")

    job_id: str = Field(description="Id of the new job.")
    status_url: str = Field(description="Where to poll its status: /jobs/{job_id}.")
    model_id: str | None = Field(
        default=None, description="Training jobs: the id the model will be registered as."
    )


class JobView(BaseModel):
    """A job's status, live progress and outcome."""

    model_config = ConfigDict(extra="forbid")

    job_id: str = Field(description="The job's id.")
    kind: Literal["denoise", "train", "metrics"] = Field(description="What the job does.")
    method: MethodName | None = Field(default=None, description="Denoising method, if any.")
    status: JobStatus = Field(description="queued, running, succeeded or failed.")
    step: str | None = Field(
        default=None, description="The step running or queued now (denoise, train, metrics)."
    )
    progress: Progress | None = Field(
        default=None,
        description="Live progress of the current step: stage, epoch/epochs, loss, fraction (0-1).",
    )
    created: datetime = Field(description="UTC time the job was accepted.")
    result: str | None = Field(
        default=None, description="Download URL of the denoised volume, once succeeded."
    )
    model_id: str | None = Field(default=None, description="Model used, or registered by a training job.")
    model_url: str | None = Field(
        default=None, description="Training jobs: the registered model, once succeeded."
    )
    metrics: dict[str, Any] | None = Field(
        default=None,
        description="PSNR (dB), RMSE, SSIM per volume, as the mean of slices, and per slice (null = infinite PSNR).",
    )
    error: str | None = Field(default=None, description="Why the job failed.")


class ModelView(BaseModel):
    """A registered model and its manifest."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(description="Registry id.")
    method: MethodName = Field(description="Which method trained it.")
    framework: str = Field(description="Framework and version.")
    created: datetime = Field(description="UTC time training finished.")
    config: dict[str, Any] = Field(description="The full training config.")
    data: dict[str, Any] = Field(description="Training data summary: shapes, spacing, sigma, split.")
    validation: dict[str, Any] = Field(description="Validation metrics of the kept model.")
    files: dict[str, str] = Field(description="sha256 of each weight file.")


class Health(BaseModel):
    """Liveness of the gateway."""

    model_config = ConfigDict(extra="forbid")

    status: Literal["ok"] = Field(description="Always ok when the gateway answers.")
    queue: Literal["redis", "local"] = Field(
        description="redis: BROKER_URL is set; local: the data directory."
    )
    api_key_required: bool = Field(description="Whether routes other than /health need X-API-Key.")
