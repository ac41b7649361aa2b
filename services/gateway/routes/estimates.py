"""GET /estimates/fit: how long a fit on an upload is expected to train on this server."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from services.gateway.deps import DataDirDep
from services.gateway.fit_history import estimate_fit
from services.gateway.responses import QUERY_ERRORS
from services.gateway.schemas import FitEstimate
from shared.methods import MethodName

router = APIRouter(prefix="/estimates", tags=["estimates"], responses=QUERY_ERRORS)


@router.get("/fit", response_model=FitEstimate)
def fit(
    data_dir: DataDirDep,
    method: Annotated[MethodName, Query(description="n2v: fit on the upload; n2n: on the pair.")],
    epochs: Annotated[int, Query(ge=1, le=10_000, description="Epochs of the fit.")],
    steps_per_epoch: Annotated[int, Query(ge=1, le=1_000_000, description="Training steps per epoch.")],
) -> FitEstimate:
    """Expected training seconds of a fit of epochs x steps_per_epoch steps, from the median rate of the
    last fits of that method on this server (their model manifests); null until one has finished."""
    return estimate_fit(data_dir, method, epochs, steps_per_epoch)
