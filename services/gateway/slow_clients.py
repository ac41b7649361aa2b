"""Slow clients cannot hold the gateway: header and body timeouts, and a cap on connections that answers 503.

uvicorn times out only the idle time between two requests (`timeout_keep_alive`): a connection that sends
nothing, or a request's headers one byte at a time (slowloris), or a body that stalls, is held for ever, and
about a thousand of them use up the process's file descriptors (`ulimit -n`), after which every accept fails,
`/health` included. Its `limit_concurrency` answers 503 only once a request's headers are complete, so it
does not stop slow headers. The measures belong where uvicorn reads the socket, so, like the JSON 400 of
protocol_errors.py, they are added to its protocol class when the app is built, whatever starts uvicorn (the
image's `uvicorn` command, `fetal-denoise serve`, the tests):

- a connection beyond MAX_CONNECTIONS gets a JSON 503 and is closed at once;
- a request's headers must be complete HEADER_TIMEOUT seconds after the connection opens (or after the first
  byte of a next request on a kept-alive connection);
- while a body is being received, a gap longer than BODY_TIMEOUT between two reads closes the connection
  (not while the app itself has paused reading).

A reverse proxy in front (docker-compose.yml's `proxy`, docs/deployment-proxy.md) does the same and more;
these keep the gateway safe when it is reached directly.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

BUSY_DETAIL = "the server holds as many connections as it allows; try again shortly"


@dataclass
class SlowClientLimits:
    """The limits the patched protocol applies (set once per process, from the settings, by install)."""

    header_timeout: float = 10.0
    body_timeout: float = 30.0
    max_connections: int = 512


LIMITS = SlowClientLimits()
_ORIGINAL: dict[str, Any] = {}


def _busy_response() -> bytes:
    body = json.dumps({"detail": BUSY_DETAIL}).encode()
    head = (
        b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n"
        b"content-length: "
        + str(len(body)).encode("ascii")
        + b"\r\nretry-after: 1\r\nconnection: close\r\n\r\n"
    )
    return head + body


def _cancel(self: Any, name: str) -> None:
    timer = getattr(self, name, None)
    if timer is not None:
        timer.cancel()
        setattr(self, name, None)


def _header_deadline(self: Any) -> None:
    """The request's headers are not complete in time: close (h11 has nothing to answer on yet)."""
    self._fd_header_timer = None
    if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
        self.logger.info(
            "closing a connection whose request headers did not arrive in %ss", LIMITS.header_timeout
        )
        self.transport.close()


def _body_deadline(self: Any) -> None:
    """No part of the body for BODY_TIMEOUT seconds: close, unless the app is the one not reading."""
    self._fd_body_timer = None
    if self.conn.their_state is not h11.SEND_BODY or self.transport.is_closing():
        return
    if self.flow.read_paused:
        self._fd_body_timer = self.loop.call_later(LIMITS.body_timeout, _body_deadline, self)
        return
    self.logger.info("closing a connection whose request body stalled for %ss", LIMITS.body_timeout)
    self.transport.close()


def _connection_made(self: Any, transport: asyncio.Transport) -> None:
    # self.connections is uvicorn's set of the server's open connections (this one not yet in it).
    if len(self.connections) >= LIMITS.max_connections:
        transport.write(_busy_response())
        transport.close()
        self.transport = transport
        self._fd_refused = True
        return
    _ORIGINAL["connection_made"](self, transport)
    self._fd_header_timer = self.loop.call_later(LIMITS.header_timeout, _header_deadline, self)


def _data_received(self: Any, data: bytes) -> None:
    if getattr(self, "_fd_refused", False):
        return
    # The first bytes of a next request on a kept-alive connection start its header clock.
    if self.conn.their_state is h11.IDLE and getattr(self, "_fd_header_timer", None) is None:
        self._fd_header_timer = self.loop.call_later(LIMITS.header_timeout, _header_deadline, self)
    _ORIGINAL["data_received"](self, data)
    if self.conn.their_state is not h11.IDLE:
        _cancel(self, "_fd_header_timer")
    _cancel(self, "_fd_body_timer")
    if self.conn.their_state is h11.SEND_BODY and not self.transport.is_closing():
        self._fd_body_timer = self.loop.call_later(LIMITS.body_timeout, _body_deadline, self)


def _connection_lost(self: Any, exc: Exception | None) -> None:
    if getattr(self, "_fd_refused", False):
        return
    _cancel(self, "_fd_header_timer")
    _cancel(self, "_fd_body_timer")
    _ORIGINAL["connection_lost"](self, exc)


def install_slow_client_limits(header_timeout: float, body_timeout: float, max_connections: int) -> None:
    """Apply these limits to every uvicorn h11 connection of this process (idempotent; the last call wins).

    The gateway depends on uvicorn without httptools, so h11 is the protocol uvicorn picks."""
    LIMITS.header_timeout, LIMITS.body_timeout, LIMITS.max_connections = (
        header_timeout,
        body_timeout,
        max_connections,
    )
    if _ORIGINAL:
        return
    for name, patched in (
        ("connection_made", _connection_made),
        ("data_received", _data_received),
        ("connection_lost", _connection_lost),
    ):
        _ORIGINAL[name] = getattr(H11Protocol, name)
        setattr(H11Protocol, name, patched)
