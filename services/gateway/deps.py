"""Dependency aliases shared by the routes: settings, the queue client, the caller (from the API key)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import Depends, HTTPException, Security
from fastapi.security import APIKeyHeader

from services.gateway.auth import API_KEY_HEADER, UNAUTHORIZED_DETAIL, Caller, identify
from services.gateway.jobqueue import CeleryJobQueue, JobQueue
from shared.queue.per_broker import per_broker
from shared.settings import Settings, get_settings

SettingsDep = Annotated[Settings, Depends(get_settings)]

_queue_for = per_broker(CeleryJobQueue.from_settings)


def get_queue(settings: SettingsDep) -> JobQueue:
    """The queue client for these settings, made once per broker configuration."""
    return _queue_for(settings)


QueueDep = Annotated[JobQueue, Depends(get_queue)]


def get_data_dir(settings: SettingsDep) -> Path:
    """The data directory (jobs/, models/)."""
    return Path(settings.DATA_DIR)


DataDirDep = Annotated[Path, Depends(get_data_dir)]


API_KEY_SCHEME = APIKeyHeader(
    name=API_KEY_HEADER,
    auto_error=False,
    description="Required on every route but /health, the web page and these docs when the server has keys: "
    "API_KEY (the admin key) or a user's key (`fetal-denoise users add`).",
)


def require_api_key(
    settings: SettingsDep, x_api_key: Annotated[str | None, Security(API_KEY_SCHEME)]
) -> Caller:
    """The caller. Declares the key in the OpenAPI schema, and checks it again behind ApiKeyMiddleware
    (which answers first, before the body is read)."""
    caller = identify(settings, x_api_key)
    if caller is None:
        raise HTTPException(status_code=401, detail=UNAUTHORIZED_DETAIL)
    return caller


CallerDep = Annotated[Caller, Depends(require_api_key)]
"""Who is calling (FastAPI resolves it once per request, for the router's check and the route alike)."""
