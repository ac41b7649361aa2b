"""The API key, checked on the request's headers before a byte of its body is read.

A route dependency runs only after FastAPI has parsed the multipart body into temporary files, so a client
without the key could push up to MAX_UPLOAD_BYTES onto the gateway's disk before its 401. This middleware
answers 401 from the headers alone and never calls `receive`. Every path needs the key except the ones
listed in OPEN_PATHS / OPEN_PREFIXES, so a new route is protected unless someone opens it on purpose.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable

from pydantic import SecretStr
from starlette.types import ASGIApp, Receive, Scope, Send

API_KEY_HEADER = "X-API-Key"
UNAUTHORIZED_DETAIL = f"missing or wrong {API_KEY_HEADER} header"

OPEN_PATHS = frozenset({"/health", "/", "/docs", "/docs/oauth2-redirect", "/redoc", "/openapi.json"})
"""Liveness, the web page (it holds no data and asks for the key itself) and the API's description (the
same as this repository's source; every call made from /docs still needs the key)."""
OPEN_PREFIXES = ("/static/",)
"""The web page's scripts, styles and the vendored viewer."""


def needs_key(path: str) -> bool:
    """Whether a request to `path` must carry the API key (when the server has one)."""
    return path not in OPEN_PATHS and not path.startswith(OPEN_PREFIXES)


def key_matches(expected: SecretStr, given: str | bytes | None) -> bool:
    """Whether `given` is the key, compared in constant time; any value passes when no key is set."""
    secret = expected.get_secret_value().encode()
    if not secret:
        return True
    if given is None:
        return False
    return secrets.compare_digest(given if isinstance(given, bytes) else given.encode(), secret)


class ApiKeyMiddleware:
    """Answer 401 to a request without the right X-API-Key header, before the body is read."""

    def __init__(self, app: ASGIApp, key: Callable[[], SecretStr]) -> None:
        self.app = app
        self.key = key

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not needs_key(scope["path"]):
            await self.app(scope, receive, send)
            return
        header = API_KEY_HEADER.lower().encode()
        given = next((value for name, value in scope.get("headers") or [] if name == header), None)
        if key_matches(self.key(), given):
            await self.app(scope, receive, send)
            return
        content = json.dumps({"detail": UNAUTHORIZED_DETAIL}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 401,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(content)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": content})
