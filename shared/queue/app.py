"""The one Celery app, configured from settings: explicit queues, routes by task name, late acks.

Workers start with `celery -A services.n2n.tasks worker -Q n2n ...` (each tasks module imports `app`
from here and registers its tasks on it). The gateway builds its own instance with `make_celery` and
only ever sends tasks by name, so it never imports a worker's framework.
"""

from __future__ import annotations

import math
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal

from celery import Celery
from kombu import Exchange, Queue

from shared.queue.names import queues, routes
from shared.settings import Settings, get_settings

LOCAL_TRANSPORT = "shared.queue.local:Transport"
LOCAL_BACKEND = "shared.queue.local:AtomicFilesystemBackend"
CLIENT_REDIS_BACKEND = "shared.queue.client_backend:SendOnlyRedisBackend"
Role = Literal["worker", "client"]
"""worker: patient with Redis (stores, publishes); client: gives up at once (the gateway, progress reports)."""


def queue_dir(settings: Settings) -> Path:
    """Root of the local (no Redis) queue: messages, exchange tables and results, in the data directory."""
    return Path(settings.DATA_DIR).resolve() / "queue"


def uses_local_queue(settings: Settings) -> bool:
    """True when no broker is configured, so the queue lives in the data directory."""
    return not settings.BROKER_URL


def ensure_local_queue(settings: Settings) -> None:
    """Create the local queue's folders (a no-op with a real broker)."""
    if uses_local_queue(settings):
        root = queue_dir(settings)
        for sub in ("messages/claimed", "control", "results"):
            (root / sub).mkdir(parents=True, exist_ok=True)


def _transport_options(settings: Settings) -> dict[str, object]:
    """Broker options: folders for the local queue, visibility timeout and key prefix for Redis."""
    if uses_local_queue(settings):
        root = queue_dir(settings)
        return {
            "data_folder_in": str(root / "messages"),
            "data_folder_out": str(root / "messages"),
            "control_folder": str(root / "control"),
            "polling_interval": 0.2,
        }
    options: dict[str, object] = {
        "visibility_timeout": settings.VISIBILITY_TIMEOUT,
        # Sweep for jobs whose lease ran out every 10 s (kombu's default scans only every 10th sweep).
        "unacked_restore_interval": 10,
        "unacked_restore_throttle": 1,
    }
    if settings.BROKER_KEY_PREFIX:
        options["global_keyprefix"] = settings.BROKER_KEY_PREFIX
    return options


def result_backend_url(settings: Settings, role: Role = "worker") -> str:
    """RESULT_BACKEND, else the broker's Redis, else files in the local queue folder; a client's Redis store
    never subscribes to the results it sends (shared/queue/client_backend.py)."""
    url = settings.RESULT_BACKEND or ("" if uses_local_queue(settings) else settings.BROKER_URL)
    if not url:
        return f"{LOCAL_BACKEND}+file://{queue_dir(settings) / 'results'}"
    if role == "client" and url.startswith(("redis://", "rediss://", "unix://")):
        return f"{CLIENT_REDIS_BACKEND}+{url}"
    return url


CLIENT_TIMEOUT_S = 2.0
"""How long a client (the gateway, a worker's progress report) waits for Redis before it takes it for down."""


def retry_policy(patience_s: float) -> dict[str, float]:
    """A kombu retry policy that keeps trying for about `patience_s` seconds (pauses of 0, 1, 2 ... 5 s)."""
    retries = 0 if patience_s <= 0 else 5 + math.ceil(max(0.0, patience_s - 15) / 5)
    return {"max_retries": retries, "interval_start": 0, "interval_step": 1, "interval_max": 5}


def _redis_options(settings: Settings, role: Role) -> dict[str, Any]:
    """Timeouts and retries of the Redis broker and result store, by role.

    A worker is patient: during a Redis outage it keeps trying to store a finished job's result, publish a
    retry or queue the job's next step for QUEUE_OUTAGE_S, so a short outage fails no job. A client is not:
    the gateway answers 503 within seconds rather than holding a request (it used to take 19 s), and a
    worker's progress report is skipped rather than holding up the training.
    """
    if role == "worker":
        patience = retry_policy(settings.QUEUE_OUTAGE_S)
        return {
            "broker_connection_max_retries": None,
            "task_publish_retry_policy": patience,
            "result_backend_transport_options": {"retry_policy": patience},
        }
    timeout = CLIENT_TIMEOUT_S
    return {
        "broker_connection_timeout": timeout,
        "broker_connection_max_retries": 1,
        "task_publish_retry_policy": retry_policy(0),
        "result_backend_transport_options": {"retry_policy": retry_policy(0)},
        "redis_socket_connect_timeout": timeout,
        "redis_socket_timeout": timeout,
    }


def make_celery(settings: Settings | None = None, role: Role = "worker") -> Celery:
    """A Celery app for these settings (the module-level `app` uses the environment's), as a worker
    (patient with Redis) or a client (quick to give up: the gateway, progress reports)."""
    settings = settings or get_settings()
    local = uses_local_queue(settings)
    redis_options = {} if local else _redis_options(settings, role)
    backend_options: dict[str, Any] = dict(redis_options.pop("result_backend_transport_options", {}))
    if settings.BROKER_KEY_PREFIX:
        backend_options["global_keyprefix"] = settings.BROKER_KEY_PREFIX
    transport_options = _transport_options(settings)
    if not local and role == "client":
        transport_options |= {"socket_connect_timeout": CLIENT_TIMEOUT_S, "socket_timeout": CLIENT_TIMEOUT_S}
    app = Celery("fetal_denoise")
    app.conf.update(
        broker_url="filesystem://localhost/" if local else settings.BROKER_URL,
        broker_transport=LOCAL_TRANSPORT if local else None,
        broker_transport_options=transport_options,
        broker_connection_retry_on_startup=True,
        result_backend=result_backend_url(settings, role),
        result_backend_transport_options=backend_options,
        # A job's state expires with its files (shared/jobs/retention.py); 0 days keeps both.
        result_expires=(
            timedelta(days=settings.JOB_RETENTION_DAYS) if settings.JOB_RETENTION_DAYS > 0 else None
        ),
        result_extended=True,
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        task_queues=[Queue(name, Exchange(name, type="direct"), routing_key=name) for name in queues()],
        task_default_queue=queues()[0],
        task_default_exchange=queues()[0],
        task_create_missing_queues=False,
        task_routes={name: {"queue": queue, "routing_key": queue} for name, queue in routes().items()},
        # A job survives its worker: acknowledged only when done, requeued if the process dies.
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_track_started=True,
        # The local transport has no broadcast worth having: cancellation uses tombstone files instead.
        worker_enable_remote_control=not local,
        worker_hijack_root_logger=False,
        **redis_options,
    )
    return app


app = make_celery()
