"""MkDocs hook: the HTTP API page, rendered from the gateway's own OpenAPI schema at build time.

The gateway imports neither torch nor TensorFlow, so building the app to ask for its schema is cheap; the
routes, fields and answers on the page are exactly what a running service declares at /openapi.json.
"""

from __future__ import annotations

import os
import tempfile
from typing import Any

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.structure.files import File, Files

PAGE = "api-reference.md"
METHODS = ("get", "post", "put", "patch", "delete")


def _schema() -> dict[str, Any]:
    # The app reads its settings when made; point its data directory at a throwaway folder.
    os.environ.setdefault("DATA_DIR", tempfile.mkdtemp(prefix="fetal-denoise-docs-"))
    from services.gateway.app import create_app

    return create_app().openapi()


def _ref_name(schema: dict[str, Any]) -> str:
    if "$ref" in schema:
        return f"`{schema['$ref'].rsplit('/', 1)[-1]}`"
    if "anyOf" in schema:
        return " or ".join(_ref_name(s) for s in schema["anyOf"])
    if schema.get("type") == "array":
        return f"array of {_ref_name(schema.get('items', {}))}"
    return f"`{schema.get('type', 'any')}`"


def _cell(text: Any) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def _fields(schema: dict[str, Any], components: dict[str, Any]) -> list[str]:
    if "$ref" in schema:
        schema = components[schema["$ref"].rsplit("/", 1)[-1]]
    props = schema.get("properties", {})
    if not props:
        return []
    required = set(schema.get("required", []))
    rows = ["| field | type | required | description |", "| --- | --- | --- | --- |"]
    for name, prop in props.items():
        kind = "file" if prop.get("format") == "binary" else _ref_name(prop)
        rows.append(
            f"| `{name}` | {_cell(kind)} | {'yes' if name in required else ''} | "
            f"{_cell(prop.get('description', ''))} |"
        )
    return rows


def render(schema: dict[str, Any]) -> str:
    """Markdown for every route of the schema: its summary, parameters, body fields and answers."""
    components = schema.get("components", {}).get("schemas", {})
    out = [
        "# API reference",
        "",
        f"{schema['info']['title']} {schema['info'].get('version', '')}: every route the gateway serves, "
        "generated from its OpenAPI schema when this site is built (a running service serves the same "
        "schema at `/openapi.json` and browses it at `/docs`). Prose on keys, limits and the queue: "
        "[HTTP API](api.md).",
        "",
    ]
    for path, operations in schema["paths"].items():
        for method in METHODS:
            op = operations.get(method)
            if op is None:
                continue
            out += [f"## `{method.upper()} {path}`", ""]
            if op.get("description") or op.get("summary"):
                out += [_cell(op.get("description") or op["summary"]), ""]
            params = op.get("parameters", [])
            if params:
                out += [
                    "| parameter | in | type | required | description |",
                    "| --- | --- | --- | --- | --- |",
                ]
                for p in params:
                    out.append(
                        f"| `{p['name']}` | {p['in']} | {_cell(_ref_name(p.get('schema', {})))} | "
                        f"{'yes' if p.get('required') else ''} | {_cell(p.get('description', ''))} |"
                    )
                out.append("")
            for media, body in op.get("requestBody", {}).get("content", {}).items():
                out += [f"Body (`{media}`):", ""]
                out += [*_fields(body.get("schema", {}), components), ""]
            out += ["| status | meaning | body |", "| --- | --- | --- |"]
            for status, answer in op.get("responses", {}).items():
                content = answer.get("content", {})
                body = ", ".join(
                    f"{_ref_name(c.get('schema', {}))} ({media})" for media, c in content.items()
                )
                out.append(f"| {status} | {_cell(answer.get('description', ''))} | {_cell(body)} |")
            out.append("")
    return "\n".join(out) + "\n"


def on_files(files: Files, config: MkDocsConfig) -> Files:
    files.append(File.generated(config, PAGE, content=render(_schema())))
    return files
