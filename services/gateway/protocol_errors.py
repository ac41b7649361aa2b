"""The 400 uvicorn sends itself, for a request it cannot parse as HTTP/1.1, with the API's JSON error body.

A malformed chunk size in a chunked upload, a negative Content-Length or two of them never reach the ASGI app:
uvicorn's protocol layer answers them with a plain-text "Invalid HTTP request received.", the one answer of
the gateway that was not `{"detail": ...}`. uvicorn's command line takes no protocol class of our own (its
`--http` is a fixed choice), and the image, `fetal-denoise serve` and the tests all start the gateway
differently, so the protocol classes' one method that writes that answer is replaced when the app is built:
whatever starts uvicorn, its 400 is then JSON.
"""

from __future__ import annotations

import contextlib
import json
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

PROTOCOL_ERROR_DETAIL = (
    "the request is not well-formed HTTP/1.1 (its request line, headers, Content-Length or chunked "
    "encoding); it was not processed"
)


def _json_body() -> bytes:
    return json.dumps({"detail": PROTOCOL_ERROR_DETAIL}).encode()


def _h11_send_400(self: Any, msg: str) -> None:
    """H11Protocol.send_400_response, with a JSON body of known length (`msg` is uvicorn's plain text)."""
    body = _json_body()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode("ascii")),
        (b"connection", b"close"),
    ]
    # h11 refuses to send when a response was already begun on this connection: then only close it.
    with contextlib.suppress(h11.LocalProtocolError):
        self.transport.write(
            self.conn.send(h11.Response(status_code=400, headers=headers, reason=b"Bad Request"))
        )
        self.transport.write(self.conn.send(h11.Data(data=body)))
        self.transport.write(self.conn.send(h11.EndOfMessage()))
    self.transport.close()


def _httptools_send_400(self: Any, msg: str) -> None:
    """HttpToolsProtocol.send_400_response (used when httptools is installed), with a JSON body."""
    body = _json_body()
    content = [b"HTTP/1.1 400 Bad Request\r\n"]
    for name, value in self.server_state.default_headers:
        content.extend([name, b": ", value, b"\r\n"])
    content.extend(
        [
            b"content-type: application/json\r\n",
            b"content-length: " + str(len(body)).encode("ascii") + b"\r\n",
            b"connection: close\r\n\r\n",
            body,
        ]
    )
    self.transport.write(b"".join(content))
    self.transport.close()


def install_json_protocol_errors() -> None:
    """Make uvicorn's own 400 answers JSON, in this process (idempotent)."""
    H11Protocol.send_400_response = _h11_send_400  # type: ignore[method-assign]
    try:
        from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
    except ImportError:  # httptools is optional; without it uvicorn uses h11
        return
    HttpToolsProtocol.send_400_response = _httptools_send_400  # type: ignore[method-assign]
