"""Dependency aliases shared by the routes: settings, the queue client, the API key check."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Annotated

from fastapi import Depends, Header, HTTPException

from services.gateway.jobqueue import CeleryJobQueue, JobQueue
from shared.settings import Settings, get_settings

SettingsDep = Annotated[Settings, Depends(get_settings)]

_queues: dict[tuple[str, ...], CeleryJobQueue] = {}


def get_queue(settings: SettingsDep) -> JobQueue:
    """The queue client for these settings, made once per broker configuration."""
    key = (settings.BROKER_URL, settings.RESULT_BACKEND, settings.BROKER_KEY_PREFIX, str(settings.DATA_DIR))
    if key not in _queues:
        _queues[key] = CeleryJobQueue.from_settings(settings)
    return _queues[key]


QueueDep = Annotated[JobQueue, Depends(get_queue)]


def get_data_dir(settings: SettingsDep) -> Path:
    """The data directory (jobs/, models/)."""
    return Path(settings.DATA_DIR)


DataDirDep = Annotated[Path, Depends(get_data_dir)]


def require_api_key(
    settings: SettingsDep,
    x_api_key: Annotated[str | None, Header(description="Required when the server sets API_KEY.")] = None,
) -> None:
    """Refuse the request unless API_KEY is unset or the X-API-Key header matches it."""
    if not settings.API_KEY:
        return
    if x_api_key is None or not secrets.compare_digest(x_api_key.encode(), settings.API_KEY.encode()):
        raise HTTPException(status_code=401, detail="missing or wrong X-API-Key header")
