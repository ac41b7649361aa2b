"""One HTTP status per error class, and JSON that never carries NaN or Infinity."""

from __future__ import annotations

import math
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

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
    (JobError, 503),
)
"""First match wins: the client's errors are 4xx; a job the queue would not take is 503."""


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


def install_error_handlers(app: FastAPI) -> None:
    """Answer every FetalDenoiseError with its status and its message as `detail`."""

    async def handle(_: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, FetalDenoiseError)
        return SafeJSONResponse(status_code=status_for(error), content={"detail": str(error)})

    app.add_exception_handler(FetalDenoiseError, handle)
