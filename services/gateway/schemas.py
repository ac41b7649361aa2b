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
    owner: str | None = Field(default=None, description="The user who submitted it; null: made without keys.")
    model_url: str | None = Field(
        default=None, description="Training jobs: the registered model, once succeeded."
    )
    metrics: dict[str, Any] | None = Field(
        default=None,
        description="PSNR (dB), RMSE, SSIM per volume, as the mean of slices, and per slice (null = infinite PSNR).",
    )
    quality: dict[str, Any] | None = Field(
        default=None,
        description="A denoising job's quality without a reference, once succeeded: the input's noise sigma, "
        "the result's estimated RMSE / PSNR (SURE), with a second acquisition the pair estimate, what was "
        "removed (the residual, downloadable at /jobs/{id}/residual), and what these assume.",
    )
    error: str | None = Field(default=None, description="Why the job failed.")
    workers: dict[str, str] = Field(
        default_factory=dict,
        description="Which worker ran (or runs) each step begun so far: its Celery node name, `queue@host` "
        "(several hosts: which host did the work).",
    )
    inputs: dict[str, str] = Field(
        default_factory=dict,
        description="The uploaded file name of each input role (file, file2, ground_truth, ...), as sent.",
    )
    warnings: list[str] = Field(
        default_factory=list,
        description="What the reader had to assume about the main input, e.g. no geometry in a DICOM file.",
    )


class JobSummary(BaseModel):
    """A job in a listing: what it is and where it stands (file names, metrics and errors: GET /jobs/{id})."""

    model_config = ConfigDict(extra="forbid")

    job_id: str = Field(description="The job's id.")
    kind: Literal["denoise", "train", "metrics"] = Field(description="What the job does.")
    method: MethodName | None = Field(default=None, description="Denoising method, if any.")
    status: JobStatus = Field(description="queued, running, succeeded or failed.")
    step: str | None = Field(default=None, description="The step running or queued now.")
    progress: Progress | None = Field(default=None, description="Live progress of the current step.")
    created: datetime = Field(description="UTC time the job was accepted.")
    result: str | None = Field(default=None, description="Download URL of the result, once succeeded.")
    model_id: str | None = Field(default=None, description="Model used, or registered by a training job.")
    owner: str | None = Field(default=None, description="The user who submitted it; null: made without keys.")
    has_metrics: bool = Field(
        description="Whether the job has PSNR / RMSE / SSIM (a ground truth was given)."
    )


class JobPage(BaseModel):
    """One page of jobs, newest first."""

    model_config = ConfigDict(extra="forbid")

    items: list[JobSummary] = Field(description="At most `limit` jobs, newest first.")
    next_cursor: str | None = Field(
        default=None, description="Pass as `cursor` for the next (older) page; null on the last page."
    )


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
    owner: str | None = Field(
        default=None, description="The user who trained it; null: made without keys, admins' only."
    )
    shared: bool = Field(
        default=False, description="Listed for and usable by every user (an admin's choice)."
    )


class ModelChange(BaseModel):
    """PATCH /models/{id}: what an admin changes about a model."""

    model_config = ConfigDict(extra="forbid")

    shared: bool = Field(
        description="true: every user lists it and may denoise with it; false: its owner only."
    )


class WhoAmI(BaseModel):
    """The caller, as the gateway knows them from their key."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(
        description="The user's name ('admin' for the API_KEY setting); null on a gateway without keys."
    )
    admin: bool = Field(description="Sees, deletes and shares every job and model.")
    api_key_required: bool = Field(description="Whether this gateway wants an X-API-Key at all.")


class ModelPage(BaseModel):
    """One page of registered models, newest first."""

    model_config = ConfigDict(extra="forbid")

    items: list[ModelView] = Field(description="At most `limit` models, newest first.")
    next_cursor: str | None = Field(
        default=None, description="Pass as `cursor` for the next (older) page; null on the last page."
    )


class FitEstimate(BaseModel):
    """How long a fit of this budget is expected to train on this server, from the trainings it has run."""

    model_config = ConfigDict(extra="forbid")

    method: MethodName = Field(description="The method asked about.")
    steps: int = Field(description="Training steps of the budget: epochs x steps per epoch.")
    seconds: float | None = Field(
        description="Expected training seconds (steps / rate); null when this server has no history yet."
    )
    steps_per_second: float | None = Field(
        description="Median training rate of the recent fits it is based on (validation included)."
    )
    based_on: int = Field(
        description="How many finished fits of this method on this server the rate comes from."
    )
    source: Literal["job history", "none"] = Field(
        description="job history: finished fits on this server; none: no fit of this method has finished here."
    )
    note: str = Field(description="One sentence saying what the estimate covers and where it comes from.")


class Health(BaseModel):
    """Liveness of the gateway."""

    model_config = ConfigDict(extra="forbid")

    status: Literal["ok", "degraded"] = Field(
        description="ok: every queue has a live worker and the data directory's disk has room; degraded: "
        "something is down (see `down`). The gateway itself answers either way (HTTP 200)."
    )
    queue: Literal["redis", "local"] = Field(
        description="redis: BROKER_URL is set; local: the data directory."
    )
    api_key_required: bool = Field(
        description="Whether routes other than /health need X-API-Key (API_KEY is set or users exist)."
    )
    workers: dict[str, Literal["up", "down", "unknown"]] = Field(
        description="Per queue (n2n, n2v, metrics): up when a worker sent a heartbeat in the last 20 s; "
        "unknown when the heartbeats cannot be read (the broker is down)."
    )
    devices: dict[str, list[str]] = Field(
        default_factory=dict,
        description="Per queue with a live worker, where each of its workers runs jobs, as the worker found at "
        "its start: `cpu` (its framework sees no GPU: jobs run on the CPU, slower), `gpu: <name>`, `checking` "
        "(its check is still running), `unknown` (the check failed; see the worker's log).",
    )
    disk_free_bytes: int | None = Field(
        description="Bytes free on the data directory's file system (null when it cannot be read); under "
        "disk_min_free_bytes the status is degraded and uploads are refused (507)."
    )
    disk_min_free_bytes: int = Field(description="The server's MIN_FREE_DISK_BYTES.")
    down: list[str] = Field(description="What is down, one sentence each; empty when status is ok.")
