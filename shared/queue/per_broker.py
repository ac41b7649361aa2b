"""One object per broker configuration: the gateway's queue client and a worker's progress store are each
made once per set of settings that name the same broker, result store and data directory."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TypeVar

from shared.settings import Settings

T = TypeVar("T")


def broker_key(settings: Settings) -> tuple[str, ...]:
    """What tells one broker configuration from another (settings objects themselves are not hashable)."""
    return (settings.BROKER_URL, settings.RESULT_BACKEND, settings.BROKER_KEY_PREFIX, str(settings.DATA_DIR))


def per_broker(make: Callable[[Settings], T]) -> Callable[[Settings], T]:
    """`make`, called once per broker configuration and remembered for the process's life."""
    made: dict[tuple[str, ...], T] = {}

    @functools.wraps(make)
    def cached(settings: Settings) -> T:
        key = broker_key(settings)
        if key not in made:
            made[key] = make(settings)
        return made[key]

    return cached
