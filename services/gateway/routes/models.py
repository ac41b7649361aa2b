"""GET /models, GET /models/{id}, DELETE /models/{id}: the registry in the data directory."""

from __future__ import annotations

from fastapi import APIRouter, Response

from services.gateway.deps import DataDirDep
from services.gateway.schemas import ModelView
from shared.jobs.registry import ModelEntry, delete_model, get_model, list_models

router = APIRouter(prefix="/models", tags=["models"])


def _view(entry: ModelEntry) -> ModelView:
    """The API form of a registry entry."""
    return ModelView(id=entry.id, **entry.manifest.model_dump())


@router.get("", response_model=list[ModelView])
def list_all(data_dir: DataDirDep) -> list[ModelView]:
    """Every registered model, newest first."""
    return [_view(entry) for entry in list_models(data_dir)]


@router.get("/{model_id}", response_model=ModelView)
def show(model_id: str, data_dir: DataDirDep) -> ModelView:
    """One model's manifest: method, framework, created, config, data summary, validation, checksums."""
    return _view(get_model(data_dir, model_id))


@router.delete("/{model_id}", status_code=204)
def delete(model_id: str, data_dir: DataDirDep) -> Response:
    """Remove a model from the registry."""
    delete_model(data_dir, model_id)
    return Response(status_code=204)
