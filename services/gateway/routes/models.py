"""GET /models (list), GET /models/{id}, DELETE /models/{id}: the registry in the data directory."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from services.gateway.deps import DataDirDep
from services.gateway.pagination import DEFAULT_LIMIT, MAX_LIMIT, SortKey, paginate
from services.gateway.responses import REGISTRY_ERRORS
from services.gateway.schemas import ModelPage, ModelView
from shared.jobs.registry import ModelEntry, delete_model, get_model, list_models

router = APIRouter(prefix="/models", tags=["models"], responses=REGISTRY_ERRORS)


def _view(entry: ModelEntry) -> ModelView:
    """The API form of a registry entry."""
    return ModelView(id=entry.id, **entry.manifest.model_dump())


@router.get("", response_model=ModelPage)
def list_all(
    data_dir: DataDirDep,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Models per page.")] = DEFAULT_LIMIT,
    cursor: Annotated[
        str | None, Query(description="`next_cursor` of the previous page; none: the newest models.")
    ] = None,
) -> ModelPage:
    """Registered models newest first, a page at a time, each with its manifest (method, data summary,
    validation metrics)."""

    def key(entry: ModelEntry) -> SortKey:
        return (entry.manifest.created, entry.id)

    entries, next_cursor = paginate(sorted(list_models(data_dir), key=key, reverse=True), key, limit, cursor)
    return ModelPage(items=[_view(entry) for entry in entries], next_cursor=next_cursor)


@router.get("/{model_id}", response_model=ModelView)
def show(model_id: str, data_dir: DataDirDep) -> ModelView:
    """One model's manifest: method, framework, created, config, data summary, validation, checksums."""
    return _view(get_model(data_dir, model_id))


@router.delete("/{model_id}", status_code=204)
def delete(model_id: str, data_dir: DataDirDep) -> Response:
    """Remove a model from the registry."""
    delete_model(data_dir, model_id)
    return Response(status_code=204)
