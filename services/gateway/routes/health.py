"""GET /health: liveness, open to all (no API key), for container health checks."""

from __future__ import annotations

from fastapi import APIRouter

from services.gateway.deps import SettingsDep
from services.gateway.schemas import Health

router = APIRouter(prefix="/health", tags=["health"])


@router.get("", response_model=Health)
def health(settings: SettingsDep) -> Health:
    """The gateway answers; which queue it uses; whether an API key is needed."""
    return Health(
        status="ok",
        queue="redis" if settings.BROKER_URL else "local",
        api_key_required=bool(settings.API_KEY.get_secret_value()),
    )
