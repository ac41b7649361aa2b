"""Requests uvicorn itself cannot parse as HTTP/1.1 get the API's JSON error body, not plain text."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator

import pytest
import uvicorn

from services.embedded.runtime import free_port
from services.gateway.app import create_app
from services.gateway.protocol_errors import PROTOCOL_ERROR_DETAIL
from shared.settings import Settings

UPLOAD = b'--XyZ\r\nContent-Disposition: form-data; name="method"\r\n\r\nn2v\r\n--XyZ--\r\n'
HEAD = b"POST /denoise HTTP/1.1\r\nHost: gateway\r\nContent-Type: multipart/form-data; boundary=XyZ\r\n"


@pytest.fixture
def gateway(settings: Settings) -> Iterator[int]:
    """The real gateway served by uvicorn (as the image and `serve` run it) in a thread; yields its port."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(settings), port=port, log_level="critical"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield port
    server.should_exit = True
    thread.join(10)


def _exchange(port: int, raw: bytes) -> tuple[bytes, dict[bytes, bytes], bytes]:
    """Send raw bytes; (status line, headers, body) of the answer, read until the server closes."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(raw)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    status, *lines = head.split(b"\r\n")
    headers = {
        name.strip().lower(): value.strip() for name, _, value in (line.partition(b":") for line in lines)
    }
    return status, headers, body


@pytest.mark.parametrize(
    "raw",
    [
        HEAD + b"Transfer-Encoding: chunked\r\n\r\nzz\r\n" + UPLOAD,
        HEAD + b"Content-Length: -1\r\n\r\n" + UPLOAD,
        HEAD + f"Content-Length: {len(UPLOAD)}\r\nContent-Length: 3\r\n\r\n".encode() + UPLOAD,
    ],
    ids=["bad chunk size", "negative Content-Length", "two Content-Lengths"],
)
def test_a_request_that_is_not_http_is_a_json_400(gateway: int, raw: bytes):
    """uvicorn answers these before the app sees them; the answer is still {"detail": ...}."""
    status, headers, body = _exchange(gateway, raw)
    assert status == b"HTTP/1.1 400 Bad Request"
    assert headers[b"content-type"] == b"application/json"
    assert int(headers[b"content-length"]) == len(body)
    assert json.loads(body) == {"detail": PROTOCOL_ERROR_DETAIL}


def test_a_well_formed_request_still_reaches_the_app(gateway: int):
    """The replaced method changes nothing else: a valid request gets the app's own answer."""
    raw = HEAD + f"Content-Length: {len(UPLOAD)}\r\nConnection: close\r\n\r\n".encode() + UPLOAD
    status, _, body = _exchange(gateway, raw)
    assert status == b"HTTP/1.1 422 Unprocessable Entity"
    assert json.loads(body) == {"detail": "file: Field required"}
