"""One HTTP status per error class, and JSON that never carries NaN or Infinity."""

from __future__ import annotations

import math
import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match
from starlette.types import Scope

from services.gateway.client_json import MAX_JSON_CHARS
from services.gateway.responses import validation_detail
from shared.disk import full_detail, is_disk_full
from shared.errors import (
    ConfigError,
    FetalDenoiseError,
    InputError,
    InvalidModelError,
    InvalidVolumeError,
    JobError,
    JobNotFoundError,
    ModelNotFoundError,
    ShapeMismatchError,
    StorageFullError,
    TooLargeError,
    UnreadableVolumeError,
    UnsafeArchiveError,
    UnsupportedFormatError,
)

STATUS_BY_ERROR: tuple[tuple[type[FetalDenoiseError], int], ...] = (
    (UnsupportedFormatError, 415),
    (TooLargeError, 413),
    (ModelNotFoundError, 404),
    (JobNotFoundError, 404),
    (UnreadableVolumeError, 422),
    (InvalidVolumeError, 422),
    (UnsafeArchiveError, 422),
    (ShapeMismatchError, 422),
    (ConfigError, 422),
    (InvalidModelError, 422),
    (InputError, 422),
    (StorageFullError, 507),
    (JobError, 503),
)
"""First match wins: the client's errors are 4xx; a job the queue would not take is 503; no room on the
server's disk is 507 (Insufficient Storage)."""


_FIELD_TOO_LONG = re.compile(r"^Part exceeded maximum size of (\d+)KB\.$")
"""Starlette's message when a form field that is not a file passes its 1 MiB cap (max_part_size)."""

RETRY_AFTER_S = 30
"""Retry-After of a 503: the queue is away; most outages are restarts that take less."""


def status_for(error: FetalDenoiseError) -> int:
    """The HTTP status of an error."""
    for cls, status in STATUS_BY_ERROR:
        if isinstance(error, cls):
            return status
    return 500


def json_safe(value: Any) -> Any:
    """`value` with every NaN or infinite float replaced by None (strict JSON has neither)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: json_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(item) for item in value]
    return value


class SafeJSONResponse(JSONResponse):
    """JSONResponse that writes non-finite floats (an infinite PSNR, a NaN loss) as null."""

    def render(self, content: Any) -> bytes:
        """Render strict JSON."""
        return super().render(json_safe(content))


HTTP_METHODS = ("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT")


def allowed_methods(app: FastAPI, scope: Scope) -> list[str]:
    """Every method some route serves at the request's path (Starlette's own 405 names only the first
    route's: GET /jobs/{id} hid DELETE /jobs/{id}), asked of the router itself."""
    return [
        method
        for method in HTTP_METHODS
        if any(route.matches({**scope, "method": method})[0] == Match.FULL for route in app.router.routes)
    ]


def install_error_handlers(app: FastAPI) -> None:
    """Every error answer is {"detail": "<string>"} (responses.ErrorDetail): the project's errors with their
    status, FastAPI's field validation as one sentence, and Starlette's own HTTP errors as they are."""

    async def handle(_: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, FetalDenoiseError)
        status = status_for(error)
        headers = {"Retry-After": str(RETRY_AFTER_S)} if status == 503 else None
        return SafeJSONResponse(status_code=status, content={"detail": str(error)}, headers=headers)

    async def handle_validation(_: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, RequestValidationError)
        return SafeJSONResponse(status_code=422, content={"detail": validation_detail(list(error.errors()))})

    async def handle_os_error(request: Request, error: Exception) -> Response:
        # A write that found the disk full, wherever in the gateway (a job's record, a preview's cache, the
        # local queue): 507 with the project's body. The writers are atomic or inside a job folder that is
        # removed on error, so nothing half-written stays. Any other OSError is a server fault (500).
        if is_disk_full(error):
            return SafeJSONResponse(status_code=507, content={"detail": full_detail()})
        raise error

    async def handle_http(request: Request, error: Exception) -> Response:
        assert isinstance(error, StarletteHTTPException)
        if error.status_code == 400 and (over := _FIELD_TOO_LONG.match(str(error.detail))):
            # Starlette's own cap on a form field (not a file) comes before the route's checks: answer it as
            # the route answers a params that is too long, 422, not as a malformed body.
            return SafeJSONResponse(
                status_code=422,
                content={
                    "detail": f"a form field is over {over.group(1)} KB, far over the limit of params "
                    f"({MAX_JSON_CHARS} characters); the other fields are shorter still"
                },
            )
        if error.status_code == 400 and is_disk_full(error.__cause__):
            # FastAPI answers any error while spooling a multipart body as a 400: the disk holding the
            # spooled files (the temporary directory) filled up, which is no fault of the request.
            return SafeJSONResponse(status_code=507, content={"detail": full_detail()})
        headers = dict(error.headers or {})
        if error.status_code == 405:
            headers["Allow"] = ", ".join(allowed_methods(app, request.scope))
        if error.status_code in (204, 304):
            return Response(status_code=error.status_code, headers=headers)
        return SafeJSONResponse(
            status_code=error.status_code, content={"detail": error.detail}, headers=headers
        )

    app.add_exception_handler(FetalDenoiseError, handle)
    app.add_exception_handler(RequestValidationError, handle_validation)
    app.add_exception_handler(StarletteHTTPException, handle_http)
    app.add_exception_handler(OSError, handle_os_error)
