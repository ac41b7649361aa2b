"""Slow clients against a served gateway (uvicorn, as the image runs it): partial headers, a stalled body,
more connections than the cap. Without slow_clients.py each of them would hold its connection for ever."""

from __future__ import annotations

import json
import os
import socket
import sys
import time
from collections.abc import Iterator

import httpx
import pytest

from services.embedded.runtime import free_port, start_process, stop_processes, wait_until_healthy

CAP = 30
SLOW = 50
HEADER_TIMEOUT = 1.5
BODY_TIMEOUT = 1.5


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    tmp = tmp_path_factory.mktemp("slow")
    port = free_port()
    env = {
        **os.environ,
        "DATA_DIR": str(tmp / "data"),
        "BROKER_URL": "",
        "HEADER_TIMEOUT": str(HEADER_TIMEOUT),
        "BODY_TIMEOUT": str(BODY_TIMEOUT),
        "MAX_CONNECTIONS": str(CAP),
    }
    env.pop("API_KEY", None)
    command = [sys.executable, "-m", "uvicorn", "services.gateway.app:app", "--port", str(port)]
    process = start_process(command, env, tmp / "gateway.log")
    try:
        wait_until_healthy(f"http://127.0.0.1:{port}", process, timeout_s=180)  # a loaded machine
        yield "127.0.0.1", port
    finally:
        stop_processes([process])


def _read_until_closed(sock: socket.socket, deadline: float) -> bytes:
    """What the server sends before it closes the connection; fails if it is still open at the deadline."""
    received = b""
    while True:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            chunk = sock.recv(4096)
        except TimeoutError:
            pytest.fail(f"the gateway still held the connection at the deadline (got {received[:80]!r})")
        except ConnectionResetError:
            return received
        if not chunk:
            return received
        received += chunk


def test_partial_headers_are_cut_and_connections_over_the_cap_get_503(gateway: tuple[str, int]):
    host, port = gateway
    started = time.monotonic()
    slow = []
    for _ in range(SLOW):
        sock = socket.create_connection((host, port))
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: ")  # never the blank line
        slow.append(sock)
    answers = [_read_until_closed(sock, started + HEADER_TIMEOUT + 3) for sock in slow]
    elapsed = time.monotonic() - started
    for sock in slow:
        sock.close()
    refused = [answer for answer in answers if answer]
    # The first CAP connections are held, then closed silently at the header deadline; the rest are refused.
    assert len(refused) == SLOW - CAP
    for answer in refused:
        head, _, body = answer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 503")
        assert "detail" in json.loads(body)
    assert HEADER_TIMEOUT - 0.2 <= elapsed <= HEADER_TIMEOUT + 3
    assert httpx.get(f"http://{host}:{port}/health", timeout=2).status_code == 200


def test_a_stalled_body_is_cut(gateway: tuple[str, int]):
    host, port = gateway
    with socket.create_connection((host, port)) as sock:
        sock.sendall(
            b"POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=b\r\n"
            b"Content-Length: 100000\r\n\r\n--b\r\n"
        )
        started = time.monotonic()
        _read_until_closed(sock, started + BODY_TIMEOUT + 3)
        assert time.monotonic() - started >= BODY_TIMEOUT - 0.2


def test_a_trickled_request_line_gets_no_more_than_the_header_timeout(gateway: tuple[str, int]):
    """One byte every half second never completes the headers in time, however steady it is."""
    host, port = gateway
    with socket.create_connection((host, port)) as sock:
        started = time.monotonic()
        for byte in b"GET /health HTTP/1.1\r\nHost: x\r\n":
            try:
                sock.sendall(bytes([byte]))
            except (BrokenPipeError, ConnectionResetError):
                break
            time.sleep(0.5)
            if time.monotonic() - started > HEADER_TIMEOUT + 3:
                pytest.fail("the gateway still read the trickled headers")
        _read_until_closed(sock, started + HEADER_TIMEOUT + 3)


def test_a_kept_alive_connection_still_serves_quick_requests(gateway: tuple[str, int]):
    host, port = gateway
    with httpx.Client(base_url=f"http://{host}:{port}") as client:
        for _ in range(3):
            assert client.get("/health").status_code == 200
            time.sleep(0.3)
