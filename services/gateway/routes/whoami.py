"""GET /whoami: the user a key belongs to (the web page shows it beside the key)."""

from __future__ import annotations

from fastapi import APIRouter

from services.gateway.auth import keys_required
from services.gateway.deps import CallerDep, SettingsDep
from services.gateway.responses import errors
from services.gateway.schemas import WhoAmI

router = APIRouter(prefix="/whoami", tags=["users"], responses=errors(401))


@router.get("", response_model=WhoAmI)
def whoami(caller: CallerDep, settings: SettingsDep) -> WhoAmI:
    """The caller's user name and whether they are an admin; on a gateway without keys, no name and admin
    (everyone sees everything there)."""
    return WhoAmI(name=caller.name, admin=caller.admin, api_key_required=keys_required(settings))
