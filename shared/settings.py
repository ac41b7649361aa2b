"""Settings read from the environment (UPPER_CASE variables), once, through a cached `get_settings()`."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

GIB = 1 << 30


class Settings(BaseSettings):
    """Limits and locations shared by the CLI and every service."""

    # validate_assignment: a value set later (tests, the embedded server) is checked and typed like one
    # read from the environment (an API key assigned as text still becomes a SecretStr).
    model_config = SettingsConfigDict(
        env_prefix="", case_sensitive=True, extra="ignore", validate_assignment=True
    )

    DATA_DIR: Path = Field(default=Path("data"), description="Where jobs/<id>/ and models/<id>/ live.")
    MAX_FILE_BYTES: int = Field(default=2 * GIB, ge=1, description="Largest input file (or upload) accepted.")
    MAX_VOXELS: int = Field(default=512 * 512 * 1024, ge=1, description="Largest volume accepted, in voxels.")
    MAX_DECODED_BYTES: int = Field(
        default=GIB,
        ge=1,
        description="Largest size of one file's voxels as stored (shape x bytes per voxel, from its header), "
        "checked by the gateway before it decodes the file. A read needs this plus 8 bytes per voxel.",
    )
    MAX_CONCURRENT_READS: int = Field(
        default=2,
        ge=1,
        description="Uploads the gateway decodes at once (the others wait their turn), so its memory stays "
        "within about MAX_CONCURRENT_READS x (MAX_DECODED_BYTES + 8 x MAX_VOXELS).",
    )
    MAX_ZIP_MEMBERS: int = Field(default=5000, ge=1, description="Most files a DICOM zip may hold.")
    MAX_ZIP_UNCOMPRESSED_BYTES: int = Field(
        default=4 * GIB, ge=1, description="Largest total uncompressed size of a DICOM zip."
    )
    # The job service (gateway, queue, workers).
    BROKER_URL: str = Field(
        default="",
        description="Celery broker, e.g. redis://redis:6379/0; empty: a local queue in DATA_DIR/queue (no Redis).",
    )
    RESULT_BACKEND: str = Field(
        default="",
        description="Celery result store; empty: the broker's Redis, or DATA_DIR/queue/results without one.",
    )
    BROKER_KEY_PREFIX: str = Field(
        default="",
        description="Prefix of every Redis key the queue and result store use (isolates deployments).",
    )
    VISIBILITY_TIMEOUT: int = Field(
        default=600,
        ge=10,
        description="Redis: seconds after which a job whose worker stopped renewing its lease (every 5 s while "
        "the worker's main process lives) is handed to another worker. Not a limit on training time. The same "
        "on every service.",
    )
    QUEUE_OUTAGE_S: int = Field(
        default=300,
        ge=0,
        description="How long a worker keeps trying to reach Redis to store a job's outcome or queue its next "
        "step before giving up; a Redis outage shorter than this fails no job. (The gateway never waits: "
        "it answers 503 at once.)",
    )
    JOB_RETRIES: int = Field(
        default=3,
        ge=0,
        le=20,
        description="How many times a job is run again after its worker process died under it (e.g. killed "
        "out of memory) or a transient fault; then it fails, saying so.",
    )
    JOB_RETENTION_DAYS: float = Field(
        default=14.0,
        ge=0.0,
        description="Days a job's uploads, results and state are kept after it was accepted; then they are "
        "purged (the gateway sweeps hourly; `fetal-denoise purge` by hand). 0 keeps them until DELETE.",
    )
    LOG_LEVEL: str = Field(
        default="INFO", description="Level of the service's own log lines (one per job event; no file names)."
    )
    API_KEY: SecretStr = Field(
        default=SecretStr(""),
        description="The admin's key: when set, every route but /health, the web page and the API docs needs "
        "an X-API-Key header, this one (sees every user's jobs and models) or a user's key from "
        "DATA_DIR/users.json (`fetal-denoise users add`). A secret: printed and logged as '**********'.",
    )
    MAX_UPLOAD_BYTES: int = Field(
        default=6 * GIB,
        ge=1,
        description="Largest request body the gateway accepts (all files of a request).",
    )
    HEADER_TIMEOUT: float = Field(
        default=10.0,
        gt=0,
        description="Seconds the gateway waits for a request's headers (from the connection, or from the first "
        "byte of the next request on a kept-alive one) before it closes the connection: a slow client "
        "(slowloris) cannot hold a connection by trickling headers.",
    )
    BODY_TIMEOUT: float = Field(
        default=30.0,
        gt=0,
        description="Seconds the gateway waits for the next part of a request's body before it closes the "
        "connection (a stalled or trickled upload).",
    )
    MAX_CONNECTIONS: int = Field(
        default=512,
        ge=1,
        description="Connections the gateway holds at once; one more is answered 503 and closed at once, so "
        "slow clients cannot use up its file descriptors (keep it well under `ulimit -n`, 1,024 by default).",
    )
    PUBLIC_URL: str = Field(
        default="",
        description="Where users reach the gateway, e.g. http://localhost:8000; logged at start-up as the web page.",
    )
    MIN_FREE_DISK_BYTES: int = Field(
        default=GIB,
        ge=0,
        description="Free space the gateway keeps on DATA_DIR's file system for the jobs' work: a request "
        "whose uploads would leave less is refused (507) before they are stored, and /health is degraded "
        "below it.",
    )
    MAX_FIT_STEPS: int = Field(
        default=20_000,
        ge=1,
        description="Largest training budget (epochs x steps per epoch) of a fit on the uploaded volume "
        "(POST /denoise without a model), either method.",
    )
    MAX_TRAIN_STEPS: int = Field(
        default=200_000,
        ge=1,
        description="Largest training budget (epochs x steps per epoch) of a training on POST /train.",
    )
    WORKER_MEMORY_BYTES: int = Field(
        default=8 * GIB,
        ge=GIB,
        description="Memory one worker has for a training (its container's or machine's RAM; with a GPU, "
        "the GPU's memory): a fit or training one step of which is estimated to need more (the framework, "
        "then the network's weights, optimiser state and activations for the batch, with a 25% margin; "
        "shared/methods/cost.py) is refused with 422 before it is queued, naming the settings that fit.",
    )


@lru_cache
def get_settings() -> Settings:
    """The process's settings, read from the environment once."""
    return Settings()
