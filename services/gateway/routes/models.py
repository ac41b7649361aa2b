"""GET /models (list), GET /models/{id}, PATCH /models/{id} (share), DELETE /models/{id}: the registry in
the data directory.

A user lists and uses their own models and the shared ones; an admin every model, and only an admin shares
one. A model the caller may not use is a 404, as an unknown id is.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Response

from services.gateway.access import caller_model, check_may_change, may_use
from services.gateway.auth import Caller
from services.gateway.deps import CallerDep, DataDirDep
from services.gateway.pagination import CURSOR_PATTERN, DEFAULT_LIMIT, MAX_LIMIT, SortKey, paginate
from services.gateway.responses import REGISTRY_ERRORS, errors
from services.gateway.schemas import ModelChange, ModelPage, ModelView
from shared.jobs.registry import ModelAccess, ModelEntry, delete_model, list_models, read_access, write_access

router = APIRouter(prefix="/models", tags=["models"], responses=REGISTRY_ERRORS)


def _view(entry: ModelEntry, access: ModelAccess) -> ModelView:
    """The API form of a registry entry."""
    return ModelView(id=entry.id, owner=access.owner, shared=access.shared, **entry.manifest.model_dump())


@router.get("", response_model=ModelPage)
def list_all(
    data_dir: DataDirDep,
    caller: CallerDep,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Models per page.")] = DEFAULT_LIMIT,
    cursor: Annotated[
        str | None,
        Query(
            pattern=CURSOR_PATTERN, description="`next_cursor` of the previous page; none: the newest models."
        ),
    ] = None,
) -> ModelPage:
    """The models the caller may use (their own and the shared ones; an admin: all) newest first, a page at
    a time, each with its manifest (method, data summary, validation metrics), owner and shared flag."""

    def key(entry: ModelEntry) -> SortKey:
        return (entry.manifest.created, entry.id)

    usable = [
        (entry, access)
        for entry in list_models(data_dir)
        if may_use(caller, access := read_access(data_dir, entry.id))
    ]
    accesses = {entry.id: access for entry, access in usable}
    ordered = sorted((entry for entry, _ in usable), key=key, reverse=True)
    entries, next_cursor = paginate(ordered, key, limit, cursor)
    return ModelPage(items=[_view(entry, accesses[entry.id]) for entry in entries], next_cursor=next_cursor)


@router.get("/{model_id}", response_model=ModelView)
def show(model_id: str, data_dir: DataDirDep, caller: CallerDep) -> ModelView:
    """One model's manifest: method, framework, created, config, data summary, validation, checksums."""
    return _view(*caller_model(data_dir, model_id, caller))


@router.patch("/{model_id}", response_model=ModelView, responses=errors(400, 403))
def share(model_id: str, change: ModelChange, data_dir: DataDirDep, caller: CallerDep) -> ModelView:
    """Share a model with every user (`{"shared": true}`: listed for them and usable in /denoise), or stop
    sharing it. Admins only."""
    entry, access = caller_model(data_dir, model_id, caller)
    _require_admin(caller, model_id)
    access = access.model_copy(update={"shared": change.shared})
    write_access(data_dir, model_id, access)
    return _view(entry, access)


@router.delete("/{model_id}", status_code=204, responses=errors(403))
def delete(model_id: str, data_dir: DataDirDep, caller: CallerDep) -> Response:
    """Remove a model from the registry: its owner or an admin."""
    _, access = caller_model(data_dir, model_id, caller)
    check_may_change(caller, model_id, access)
    delete_model(data_dir, model_id)
    return Response(status_code=204)


def _require_admin(caller: Caller, model_id: str) -> None:
    """Sharing puts a model in front of every user: an admin's decision."""
    if not caller.admin:
        raise HTTPException(status_code=403, detail=f"only an admin may share or unshare model {model_id}")
