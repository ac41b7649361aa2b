"""The OpenAPI schema says exactly what the server accepts: what FastAPI writes, less what cannot be sent.

A form field or a query parameter has no null: leaving it out is how a client says "none". FastAPI declares
an optional one (`str | None = None`) as `anyOf: [<its type>, {"type": "null"}]`, which admits a value no
client can send as such; a contract tester sends the text "null" for it (a model id "null", a plane "null")
and the server rightly refuses it. Here each such field is declared as its own type, still optional.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

_NULL = {"type": "null"}


def _without_null(schema: dict[str, Any]) -> dict[str, Any]:
    """`anyOf: [X, null]` as X (keeping the title, description and default); any other schema as it is."""
    options = schema.get("anyOf")
    if not isinstance(options, list) or _NULL not in options:
        return schema
    rest = [option for option in options if option != _NULL]
    others = {key: value for key, value in schema.items() if key != "anyOf"}
    if others.get("default", "") is None:
        del others["default"]
    if len(rest) == 1:
        return {**rest[0], **others}
    return {"anyOf": rest, **others}


def _form_schemas(schema: dict[str, Any]) -> set[str]:
    """Names of the component schemas that are the bodies of multipart (or urlencoded) forms."""
    names = set()
    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            content = operation.get("requestBody", {}).get("content", {})
            for media_type, body in content.items():
                ref = body.get("schema", {}).get("$ref", "")
                if media_type in ("multipart/form-data", "application/x-www-form-urlencoded") and ref:
                    names.add(ref.rsplit("/", 1)[1])
    return names


def sendable(schema: dict[str, Any]) -> dict[str, Any]:
    """The schema with every form field and query parameter declared without null (modified in place)."""
    components = schema.get("components", {}).get("schemas", {})
    for name in _form_schemas(schema):
        properties = components[name].get("properties", {})
        for field, field_schema in properties.items():
            properties[field] = _without_null(field_schema)
    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                if "schema" in parameter and not parameter.get("required", False):
                    parameter["schema"] = _without_null(parameter["schema"])
    return schema


def install_openapi(app: FastAPI) -> None:
    """Serve `sendable(FastAPI's schema)` as /openapi.json (built once, like FastAPI's own)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = sendable(
                get_openapi(
                    title=app.title,
                    version=app.version,
                    openapi_version=app.openapi_version,
                    description=app.description,
                    routes=app.routes,
                    servers=app.servers,
                )
            )
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
