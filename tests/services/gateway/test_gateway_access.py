"""API key, body size limits, health and the OpenAPI docs."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

from fastapi import FastAPI
from fastapi.testclient import TestClient
from gateway_fakes import RecordingQueue

from services.embedded.runtime import free_port
from services.gateway.app import create_app
from shared.queue.liveness import heartbeats
from shared.settings import Settings


def test_api_key_guards_every_route_but_health(client: TestClient, settings: Settings, nifti_path: Path):
    """With API_KEY set: no or a wrong X-API-Key is 401 everywhere except /health; the right one passes."""
    settings.API_KEY = "s3cret"
    for method, url in (
        ("GET", "/models"),
        ("GET", "/jobs"),
        ("GET", "/jobs/abc"),
        ("GET", "/jobs/abc/preview/input"),
        ("GET", "/estimates/fit"),
        ("DELETE", "/models/x"),
        ("POST", "/metrics"),
    ):
        for headers in ({}, {"X-API-Key": "wrong"}):
            response = client.request(method, url, headers=headers)
            assert response.status_code == 401, (method, url, headers)
            assert response.json()["detail"] == "missing or wrong X-API-Key header"
    assert client.get("/health").status_code == 200
    assert client.get("/health").json()["api_key_required"] is True
    assert client.get("/models", headers={"X-API-Key": "s3cret"}).json() == {"items": [], "next_cursor": None}


def test_declared_oversize_body_is_413_before_reading(
    client: TestClient, settings: Settings, queue: RecordingQueue, nifti_path: Path
):
    """A request announcing more than MAX_UPLOAD_BYTES is refused with 413 and nothing is queued."""
    settings.MAX_UPLOAD_BYTES = 10_000
    response = client.post("/denoise", data={"method": "n2v"}, files={"file": ("big.nii.gz", bytes(20_000))})
    assert response.status_code == 413
    assert response.json()["detail"] == "request body over the limit of 10000 bytes (MAX_UPLOAD_BYTES)"
    assert queue.submitted == []


def test_streamed_oversize_body_is_413(client: TestClient, settings: Settings, queue: RecordingQueue):
    """A chunked body with no Content-Length is cut off at the limit: 413, nothing queued."""
    settings.MAX_UPLOAD_BYTES = 10_000
    boundary = "XyZ"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="method"\r\n\r\nn2v\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.nii"\r\n\r\n'
    ).encode()

    def body():
        yield head
        for _ in range(10):
            yield bytes(4096)
        yield f"\r\n--{boundary}--\r\n".encode()

    response = client.post(
        "/denoise", content=body(), headers={"Content-Type": f"multipart/form-data; boundary={boundary}"}
    )
    assert response.status_code == 413
    assert response.json()["detail"] == "request body over the limit of 10000 bytes (MAX_UPLOAD_BYTES)"
    assert queue.submitted == []


def test_oversize_file_is_413_and_leaves_nothing(
    client: TestClient,
    settings: Settings,
    queue: RecordingQueue,
    nifti_path: Path,
    job_folders: Callable[[], list[Path]],
):
    """One file over MAX_FILE_BYTES is 413 with the file's name; its partial copy is removed."""
    settings.MAX_FILE_BYTES = 1000
    response = client.post(
        "/denoise", data={"method": "n2v"}, files={"file": ("brain.nii.gz", nifti_path.read_bytes())}
    )
    assert response.status_code == 413
    assert (
        response.json()["detail"]
        == "brain.nii.gz: the upload is over the limit of 1000 bytes (MAX_FILE_BYTES)"
    )
    assert queue.submitted == [] and job_folders() == []


def test_openapi_docs_list_every_resource(client: TestClient):
    """/docs is served and the schema has one path group per resource."""
    assert client.get("/docs").status_code == 200
    paths = set(client.get("/openapi.json").json()["paths"])
    assert {
        "/denoise",
        "/train",
        "/jobs/{job_id}",
        "/jobs/{job_id}/result",
        "/models",
        "/models/{model_id}",
        "/jobs",
        "/jobs/{job_id}/preview/{kind}",
        "/estimates/fit",
    } <= paths
    assert {"/metrics", "/health"} <= paths


def _call(app: FastAPI, method: str, path: str, headers: list[tuple[bytes, bytes]]) -> tuple[int, bool]:
    """Send one request straight to the ASGI app; (status, whether the app asked for any of its body)."""
    body_read = False
    answer: dict[str, int] = {}

    async def receive() -> dict[str, object]:
        nonlocal body_read
        body_read = True
        return {"type": "http.request", "body": b"x" * 65536, "more_body": True}

    async def send(message: dict[str, object]) -> None:
        if message["type"] == "http.response.start":
            answer["status"] = int(message["status"])  # type: ignore[call-overload]

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "scheme": "http",
        "server": ("testserver", 80),
        "client": ("127.0.0.1", 1234),
        "headers": [(b"content-type", b"multipart/form-data; boundary=B"), *headers],
    }
    asyncio.run(app(scope, receive, send))
    return answer["status"], body_read


def test_api_key_is_checked_before_a_byte_of_the_body_is_read(settings: Settings):
    """Without the key, every upload route answers 401 without reading its body; with it, the body is read."""
    settings.API_KEY = "s3cret"
    app = create_app(settings)
    for path in ("/denoise", "/train", "/metrics"):
        for headers in ([], [(b"x-api-key", b"wrong")], [(b"content-length", b"6000000000")]):
            assert _call(app, "POST", path, headers) == (401, False), (path, headers)
    status, body_read = _call(app, "POST", "/metrics", [(b"x-api-key", b"s3cret")])
    assert body_read and status != 401


def test_unknown_paths_need_the_key_and_the_docs_do_not(client: TestClient, settings: Settings):
    """A path no route serves is 401 without the key (nothing to probe); /docs, /redoc, /openapi.json open."""
    settings.API_KEY = "s3cret"
    assert client.get("/no-such-route").status_code == 401
    assert client.get("/no-such-route", headers={"X-API-Key": "s3cret"}).status_code == 404
    for path in ("/docs", "/redoc", "/openapi.json"):
        assert client.get(path).status_code == 200, path
    schemes = client.get("/openapi.json").json()["components"]["securitySchemes"]
    assert schemes["APIKeyHeader"] == {
        "type": "apiKey",
        "in": "header",
        "name": "X-API-Key",
        "description": schemes["APIKeyHeader"]["description"],
    }


def test_api_key_is_a_secret_never_printed(settings: Settings):
    """The settings print the key as stars, in their repr and in their JSON dump."""
    settings.API_KEY = "s3cret-value"
    assert "s3cret-value" not in repr(settings)
    assert "s3cret-value" not in settings.model_dump_json()
    assert settings.API_KEY.get_secret_value() == "s3cret-value"


def test_health_says_which_queue_has_no_live_worker(client: TestClient, settings: Settings):
    """No heartbeat: every queue is down and status degraded (still 200); a worker's beat brings it up."""
    health = client.get("/health")
    assert health.status_code == 200
    assert health.json()["status"] == "degraded"
    assert health.json()["workers"] == {"n2n": "down", "n2v": "down", "metrics": "down"}
    heartbeats(settings).beat("metrics", "metrics-1@host")
    body = client.get("/health").json()
    assert body["workers"] == {"n2n": "down", "n2v": "down", "metrics": "up"}
    assert body["down"] == [
        "no live worker for queue n2n (its jobs wait)",
        "no live worker for queue n2v (its jobs wait)",
    ]
    for queue in ("n2n", "n2v"):
        heartbeats(settings).beat(queue, f"{queue}-1@host")
    assert client.get("/health").json()["status"] == "ok"


def test_health_lists_the_device_each_live_worker_runs_on(client: TestClient, settings: Settings):
    """Each live worker's heartbeat carries its device: a queue whose worker found no GPU lists `cpu`, one
    still checking lists `checking`, and a queue without live workers is left out."""
    assert client.get("/health").json()["devices"] == {}
    heartbeats(settings).beat("n2n", "n2n-1@host", "cpu")
    heartbeats(settings).beat("n2n", "n2n-2@gpu-host", "gpu: NVIDIA H200")
    heartbeats(settings).beat("n2v", "n2v-1@host", "checking")
    body = client.get("/health").json()
    assert body["devices"] == {"n2n": ["cpu", "gpu: NVIDIA H200"], "n2v": ["checking"]}
    assert body["workers"] == {"n2n": "up", "n2v": "up", "metrics": "down"}


def test_health_says_the_broker_is_down(client: TestClient, settings: Settings):
    """With a Redis that does not answer, /health answers at once: degraded, workers unknown, and why."""
    settings.BROKER_URL = f"redis://127.0.0.1:{free_port()}/0"
    body = client.get("/health").json()
    assert body["status"] == "degraded" and body["queue"] == "redis"
    assert body["workers"] == {"n2n": "unknown", "n2v": "unknown", "metrics": "unknown"}
    assert body["down"] == ["the queue's broker cannot be reached (jobs cannot be queued or report progress)"]
