"""The error answers of the API: one body for every 4xx and 5xx of ours, and which route declares which.

Every error is `{"detail": "<one sentence>"}`, a string, whether it comes from the project's own errors
(shared/errors.py, mapped in errors.py), from a request that does not match the routes' declared fields
(FastAPI's validation, flattened to one sentence here), from the body limit, the key check or the router.
The OpenAPI schema declares each status a route can answer with this one model.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class ErrorDetail(BaseModel):
    """The body of every error answer."""

    model_config = ConfigDict(extra="forbid")

    detail: str = Field(description="What was wrong, in one sentence (names the field or file concerned).")


_DESCRIPTIONS: dict[int, str] = {
    400: "The body is not well-formed (a multipart form, or JSON where a route takes JSON).",
    401: "The server has keys (API_KEY or users) and the X-API-Key header is missing or unknown.",
    403: "The caller may see this model but not change it (only its owner or an admin; sharing: admins).",
    404: "No such job or model, or one the caller may not see (another user's).",
    409: "The job has no result yet (it is queued, running or failed).",
    413: "A file or the whole body is over the server's size limits (MAX_FILE_BYTES, MAX_UPLOAD_BYTES, ...).",
    415: "A file's name announces no supported format.",
    422: "An invalid field, parameter or file: the detail says which and why.",
    503: "The job queue or its result store cannot be reached right now; nothing was queued. Retry later.",
    507: "The server's disk has no room for what the request stores (uploads: under MIN_FREE_DISK_BYTES "
    "free, or full); nothing was stored. Retry later.",
}


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The `responses=` declaration of these error statuses, each with the one error model."""
    return {status: {"model": ErrorDetail, "description": _DESCRIPTIONS[status]} for status in statuses}


UPLOAD_ERRORS = errors(400, 401, 404, 413, 415, 422, 503, 507) | {
    422: {
        "model": ErrorDetail,
        "description": _DESCRIPTIONS[422] + " Also: a file whose bytes are not a volume of its format, a "
        "combination of fields the method does not take, or any form field over 1 MiB (Starlette's cap on a "
        "field; `params` is declared with its own, lower, maxLength).",
    }
}
"""Routes that take files and queue a job (404: an unknown model_id)."""
JOB_ERRORS = errors(401, 404, 409, 422, 503)
"""Routes that read a job and its state from the result store."""
REGISTRY_ERRORS = errors(401, 404, 422)
"""Routes over the model registry (files in the data directory only)."""
QUERY_ERRORS = errors(401, 422)
"""Routes that only compute from their query."""


def validation_detail(errors_: list[dict[str, Any]]) -> str:
    """FastAPI's list of field errors as one sentence: 'method: Input should be 'n2n' or 'n2v'; file: ...'."""
    parts = []
    for error in errors_:
        location = ".".join(
            str(part) for part in error.get("loc", ()) if part not in ("body", "query", "path")
        )
        parts.append(f"{location or 'request'}: {error.get('msg', 'invalid')}")
    return "; ".join(parts) or "the request is invalid"
