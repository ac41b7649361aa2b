"""Request body limit, enforced while the body streams in (before anything reaches a route), and the room an
upload needs on the data directory's disk, checked before its body is read."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.disk import check_room
from shared.errors import StorageFullError


def too_large_detail(limit: int) -> str:
    """The 413 message."""
    return f"request body over the limit of {limit} bytes (MAX_UPLOAD_BYTES)"


class BodyTooLargeError(HTTPException):
    """Raised from `receive` once a body passes its limit; an HTTPException so FastAPI answers it as is."""

    def __init__(self, limit: int) -> None:
        super().__init__(status_code=413, detail=too_large_detail(limit))


class BodyLimitMiddleware:
    """Answer 413 to a request whose body is (or announces being) larger than the limit.

    A declared Content-Length over the limit is refused before a byte is read; otherwise bytes are
    counted as they arrive and the request is cut off at the limit, so an oversized upload never
    fills the disk.
    """

    def __init__(self, app: ASGIApp, limit: Callable[[], int]) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit()
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length", b"")
        if declared.isdigit() and int(declared) > limit:
            await _too_large(send, limit)
            return
        received = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLargeError(limit)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except BodyTooLargeError:
            if not started:
                await _too_large(send, limit)


class DiskRoomMiddleware:
    """Answer 507 to an upload (a multipart body) whose declared Content-Length would leave less than the
    reserve free on the data directory's disk, before a byte of it is read or spooled. (A body without a
    length is checked file by file before each is stored, uploads.save_upload.)"""

    def __init__(self, app: ASGIApp, room: Callable[[], tuple[Path, int]]) -> None:
        self.app = app
        self.room = room

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            headers = dict(scope.get("headers") or [])
            declared = headers.get(b"content-length", b"")
            if declared.isdigit() and headers.get(b"content-type", b"").startswith(b"multipart/"):
                folder, reserve = self.room()
                try:
                    check_room(folder, int(declared), reserve, "the request")
                except StorageFullError as exc:
                    await _json_error(send, 507, str(exc))
                    return
        await self.app(scope, receive, send)


async def _too_large(send: Send, limit: int) -> None:
    """Send the 413 answer."""
    await _json_error(send, 413, too_large_detail(limit))


async def _json_error(send: Send, status: int, detail: str) -> None:
    """Send an error answer with the project's body, {"detail": ...}."""
    body: dict[str, Any] = {"detail": detail}
    content = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(content)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": content})
