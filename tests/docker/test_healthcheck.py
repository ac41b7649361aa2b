"""docker/healthcheck.py: the gateway check follows /health, the worker check follows the broker."""

from __future__ import annotations

import importlib.util
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from types import ModuleType

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "docker" / "healthcheck.py"


def load_script() -> ModuleType:
    """Import docker/healthcheck.py by path (docker/ holds build files, not a package)."""
    spec = importlib.util.spec_from_file_location("healthcheck", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


healthcheck = load_script()


@pytest.fixture
def server() -> Iterator[str]:
    """A local HTTP server: /health answers 200, /down answers 503; yields its base URL."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200 if self.path == "/health" else 503)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    httpd = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def free_port() -> int:
    """A local TCP port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def redis_is_up() -> bool:
    """Whether the machine's Redis answers on 127.0.0.1:6379."""
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=1):
            return True
    except OSError:
        return False


def test_http_check_passes_on_200(server: str) -> None:
    """A gateway whose /health answers 200 is healthy."""
    assert healthcheck.main(["http", f"{server}/health"]) == 0


def test_http_check_fails_on_error_status(server: str, capsys: pytest.CaptureFixture[str]) -> None:
    """A 503 makes the container unhealthy and the reason names the status."""
    assert healthcheck.main(["http", f"{server}/down"]) == 1
    assert f"unhealthy: {server}/down answered HTTP 503" in capsys.readouterr().err


def test_http_check_of_a_path_asks_the_port_in_uvicorn_port(
    server: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`http /health` asks 127.0.0.1 at UVICORN_PORT, the port the image's uvicorn listens on."""
    monkeypatch.setenv("UVICORN_PORT", server.rsplit(":", 1)[1])
    assert healthcheck.main(["http", "/health"]) == 0
    monkeypatch.setenv("UVICORN_PORT", str(free_port()))
    assert healthcheck.main(["http", "/health"]) == 1
    assert "/health unreachable" in capsys.readouterr().err


def test_http_check_fails_when_nothing_listens() -> None:
    """A gateway that is not listening is unhealthy."""
    url = f"http://127.0.0.1:{free_port()}/health"
    assert healthcheck.check_http(url, timeout_s=1).startswith(f"{url} unreachable:")


def test_worker_check_fails_when_broker_unreachable(monkeypatch: pytest.MonkeyPatch) -> None:
    """A worker whose Redis broker does not answer is unhealthy."""
    monkeypatch.setenv("BROKER_URL", f"redis://127.0.0.1:{free_port()}/0")
    assert healthcheck.main(["worker"]) == 1


@pytest.mark.skipif(not redis_is_up(), reason="no Redis on 127.0.0.1:6379")
def test_worker_check_passes_when_broker_answers(monkeypatch: pytest.MonkeyPatch) -> None:
    """A worker whose Redis broker answers PING is healthy."""
    monkeypatch.setenv("BROKER_URL", "redis://127.0.0.1:6379/0")
    assert healthcheck.main(["worker"]) == 0


def test_worker_check_without_redis_broker(monkeypatch: pytest.MonkeyPatch) -> None:
    """With the local file queue (no BROKER_URL) there is no broker to reach, so the worker is healthy."""
    monkeypatch.delenv("BROKER_URL", raising=False)
    assert healthcheck.main(["worker"]) == 0


def test_unknown_check_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    """A misspelt HEALTHCHECK command fails loudly instead of reporting healthy."""
    assert healthcheck.main(["gateway"]) == 2
    assert "usage: healthcheck.py http URL|/PATH | worker" in capsys.readouterr().err
