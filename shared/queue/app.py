"""The one Celery app, configured from settings: explicit queues, routes by task name, late acks.

Workers start with `celery -A services.n2n.tasks worker -Q n2n ...` (each tasks module imports `app`
from here and registers its tasks on it). The gateway builds its own instance with `make_celery` and
only ever sends tasks by name, so it never imports a worker's framework.
"""

from __future__ import annotations

from pathlib import Path

from celery import Celery
from kombu import Exchange, Queue

from shared.queue.names import QUEUES, ROUTES
from shared.settings import Settings, get_settings

LOCAL_TRANSPORT = "shared.queue.local:Transport"
LOCAL_BACKEND = "shared.queue.local:AtomicFilesystemBackend"


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
    options: dict[str, object] = {"visibility_timeout": settings.VISIBILITY_TIMEOUT}
    if settings.BROKER_KEY_PREFIX:
        options["global_keyprefix"] = settings.BROKER_KEY_PREFIX
    return options


def result_backend_url(settings: Settings) -> str:
    """RESULT_BACKEND, else the broker's Redis, else files in the local queue folder."""
    if settings.RESULT_BACKEND:
        return settings.RESULT_BACKEND
    if not uses_local_queue(settings):
        return settings.BROKER_URL
    return f"{LOCAL_BACKEND}+file://{queue_dir(settings) / 'results'}"


def make_celery(settings: Settings | None = None) -> Celery:
    """A Celery app for these settings (the module-level `app` uses the environment's)."""
    settings = settings or get_settings()
    local = uses_local_queue(settings)
    app = Celery("fetal_denoise")
    app.conf.update(
        broker_url="filesystem://localhost/" if local else settings.BROKER_URL,
        broker_transport=LOCAL_TRANSPORT if local else None,
        broker_transport_options=_transport_options(settings),
        broker_connection_retry_on_startup=True,
        result_backend=result_backend_url(settings),
        result_backend_transport_options=(
            {"global_keyprefix": settings.BROKER_KEY_PREFIX} if settings.BROKER_KEY_PREFIX else {}
        ),
        # Job records live in the data directory as long as the job does; so must its state.
        result_expires=None,
        result_extended=True,
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        task_queues=[Queue(name, Exchange(name, type="direct"), routing_key=name) for name in QUEUES],
        task_default_queue=QUEUES[0],
        task_default_exchange=QUEUES[0],
        task_create_missing_queues=False,
        task_routes={name: {"queue": queue, "routing_key": queue} for name, queue in ROUTES.items()},
        # A job survives its worker: acknowledged only when done, requeued if the process dies.
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_track_started=True,
        # The local transport has no broadcast worth having: cancellation uses tombstone files instead.
        worker_enable_remote_control=not local,
        worker_hijack_root_logger=False,
    )
    return app


app = make_celery()
