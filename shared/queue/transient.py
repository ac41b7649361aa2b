"""Faults of the queue's infrastructure that are worth retrying: the broker, the result store or a mount blinked."""

from __future__ import annotations

import kombu.exceptions
import redis.exceptions

TRANSIENT_ERRORS: tuple[type[Exception], ...] = (
    ConnectionError,
    TimeoutError,
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
    kombu.exceptions.OperationalError,
)
"""Retried by the workers' tasks (with backoff); answered 503 by the gateway."""

RESULT_STORE_ERRORS: tuple[type[Exception], ...] = (*TRANSIENT_ERRORS, OSError)
"""What reading a job's state can raise when its store is away (Redis down, the local store's folder gone)."""
