"""Per-user keys: two users who cannot reach each other's jobs or models, an admin who can, shared models,
revoked keys, and a gateway without keys that behaves as it always did."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from gateway_fakes import RecordingQueue

from services.gateway.jobqueue import TaskState
from shared.jobs.store import JobRecord, JobStep, utcnow, write_record
from shared.manifest import write_manifest
from shared.settings import Settings
from shared.users import add_user, revoke_user, users_path

ADMIN_KEY = "the-admin-key"


@pytest.fixture
def keys(settings: Settings) -> dict[str, dict[str, str]]:
    """X-API-Key headers of alice and bob (plain users), carol (an admin user) and the API_KEY admin."""
    settings.API_KEY = ADMIN_KEY
    data_dir = Path(settings.DATA_DIR)
    made = {name: add_user(data_dir, name) for name in ("alice", "bob")}
    made["carol"] = add_user(data_dir, "carol", admin=True)
    made["admin"] = ADMIN_KEY
    return {name: {"X-API-Key": key} for name, key in made.items()}


def _files(nifti_path: Path) -> dict[str, tuple[str, bytes]]:
    return {"file": ("brain.nii.gz", nifti_path.read_bytes())}


def _succeeded_denoise(
    client: TestClient, queue: RecordingQueue, settings: Settings, nifti_path: Path, headers: dict[str, str]
) -> str:
    """A denoising job submitted with `headers` that has succeeded, its result on disk; its id."""
    response = client.post("/denoise", data={"method": "n2v"}, files=_files(nifti_path), headers=headers)
    assert response.status_code == 202, response.text
    job_id = response.json()["job_id"]
    call = queue.submitted[-1][0]
    queue.states[call.task_id] = TaskState("SUCCESS", {"result": "result.nii.gz"})
    (Path(settings.DATA_DIR) / "jobs" / job_id / "result.nii.gz").write_bytes(b"alice's denoised scan")
    return job_id


def _trained_model(client: TestClient, settings: Settings, nifti_path: Path, headers: dict[str, str]) -> str:
    """A model trained through POST /train with `headers`, registered as the worker would; its id."""
    response = client.post(
        "/train",
        data={"method": "n2v"},
        files={"files": ("brain.nii.gz", nifti_path.read_bytes())},
        headers=headers,
    )
    assert response.status_code == 202, response.text
    model_id = response.json()["model_id"]
    folder = Path(settings.DATA_DIR) / "models" / model_id
    folder.mkdir(parents=True)
    (folder / "w.bin").write_bytes(b"weights")
    write_manifest(folder, method="n2v", framework="test", config={}, data={}, validation={}, files=["w.bin"])
    return model_id


def test_a_user_cannot_reach_another_users_job_and_an_admin_can(
    client: TestClient,
    queue: RecordingQueue,
    settings: Settings,
    nifti_path: Path,
    keys: dict[str, dict[str, str]],
):
    """Alice's job: listed, shown, downloaded and previewed by her and by admins; for bob every route says
    404 with the very words of an id that does not exist, and his DELETE removes nothing."""
    alice, bob = keys["alice"], keys["bob"]
    job_id = _succeeded_denoise(client, queue, settings, nifti_path, alice)
    unknown = client.get(f"/jobs/{'0' * 32}", headers=bob).json()["detail"].replace("0" * 32, job_id)

    assert [job["job_id"] for job in client.get("/jobs", headers=alice).json()["items"]] == [job_id]
    assert client.get("/jobs", headers=bob).json() == {"items": [], "next_cursor": None}
    for method, path in (
        ("GET", f"/jobs/{job_id}"),
        ("GET", f"/jobs/{job_id}/result"),
        ("GET", f"/jobs/{job_id}/residual"),
        ("GET", f"/jobs/{job_id}/preview/input"),
        ("DELETE", f"/jobs/{job_id}"),
    ):
        response = client.request(method, path, headers=bob)
        assert (response.status_code, response.json()["detail"]) == (404, unknown), (method, path)
    assert queue.cancelled == []

    view = client.get(f"/jobs/{job_id}", headers=alice).json()
    assert (view["status"], view["owner"]) == ("succeeded", "alice")
    assert client.get(f"/jobs/{job_id}/result", headers=alice).content == b"alice's denoised scan"
    for admin in (keys["admin"], keys["carol"]):
        listed = client.get("/jobs", headers=admin).json()["items"]
        assert [(job["job_id"], job["owner"]) for job in listed] == [(job_id, "alice")]
        assert client.get(f"/jobs/{job_id}/result", headers=admin).status_code == 200
    assert client.delete(f"/jobs/{job_id}", headers=keys["carol"]).status_code == 204
    assert client.get(f"/jobs/{job_id}", headers=alice).status_code == 404


def test_a_user_deletes_their_own_job(
    client: TestClient,
    queue: RecordingQueue,
    settings: Settings,
    nifti_path: Path,
    keys: dict[str, dict[str, str]],
):
    """The owner's DELETE cancels and removes the job, as it always did."""
    job_id = _succeeded_denoise(client, queue, settings, nifti_path, keys["bob"])
    assert client.delete(f"/jobs/{job_id}", headers=keys["bob"]).status_code == 204
    assert client.get("/jobs", headers=keys["bob"]).json()["items"] == []


def test_models_are_their_owners_until_an_admin_shares_one(
    client: TestClient,
    queue: RecordingQueue,
    settings: Settings,
    nifti_path: Path,
    keys: dict[str, dict[str, str]],
):
    """Alice's trained model is hers: bob neither lists, shows, deletes nor denoises with it (404, as an
    unknown id). Shared by an admin, bob lists it and denoises with it, but may not delete or unshare it."""
    alice, bob = keys["alice"], keys["bob"]
    model_id = _trained_model(client, settings, nifti_path, alice)
    use = {"method": "n2v", "model_id": model_id}

    assert [model["id"] for model in client.get("/models", headers=alice).json()["items"]] == [model_id]
    assert client.get(f"/models/{model_id}", headers=alice).json()["owner"] == "alice"
    assert client.get("/models", headers=bob).json()["items"] == []
    for method, path in (("GET", f"/models/{model_id}"), ("DELETE", f"/models/{model_id}")):
        response = client.request(method, path, headers=bob)
        assert (response.status_code, response.json()["detail"]) == (404, f"no model with id {model_id!r}")
    refused = client.post("/denoise", data=use, files=_files(nifti_path), headers=bob)
    assert (refused.status_code, refused.json()["detail"]) == (404, f"no model with id {model_id!r}")
    assert client.patch(f"/models/{model_id}", json={"shared": True}, headers=bob).status_code == 404
    assert client.patch(f"/models/{model_id}", json={"shared": True}, headers=alice).status_code == 403

    shared = client.patch(f"/models/{model_id}", json={"shared": True}, headers=keys["admin"])
    assert shared.status_code == 200 and shared.json()["shared"] is True
    listed = client.get("/models", headers=bob).json()["items"]
    assert [(model["id"], model["owner"], model["shared"]) for model in listed] == [(model_id, "alice", True)]
    accepted = client.post("/denoise", data=use, files=_files(nifti_path), headers=bob)
    assert accepted.status_code == 202, accepted.text
    assert queue.submitted[-1][0].payload["model_id"] == model_id
    assert client.delete(f"/models/{model_id}", headers=bob).status_code == 403
    assert client.patch(f"/models/{model_id}", json={"shared": False}, headers=bob).status_code == 403

    assert client.delete(f"/models/{model_id}", headers=alice).status_code == 204
    assert client.get("/models", headers=keys["admin"]).json()["items"] == []


def test_an_admin_sees_every_model_and_unshares_one(
    client: TestClient, settings: Settings, nifti_path: Path, keys: dict[str, dict[str, str]]
):
    """An admin user lists both users' models; unsharing takes a model away from the other user again."""
    alices = _trained_model(client, settings, nifti_path, keys["alice"])
    bobs = _trained_model(client, settings, nifti_path, keys["bob"])
    listed = {
        model["id"]: model["owner"] for model in client.get("/models", headers=keys["carol"]).json()["items"]
    }
    assert listed == {alices: "alice", bobs: "bob"}
    client.patch(f"/models/{alices}", json={"shared": True}, headers=keys["carol"])
    assert {model["id"] for model in client.get("/models", headers=keys["bob"]).json()["items"]} == {
        alices,
        bobs,
    }
    client.patch(f"/models/{alices}", json={"shared": False}, headers=keys["carol"])
    assert [model["id"] for model in client.get("/models", headers=keys["bob"]).json()["items"]] == [bobs]


def test_a_revoked_key_is_refused_at_once(
    client: TestClient, settings: Settings, keys: dict[str, dict[str, str]]
):
    """After `users revoke`, the next request with that key is a 401 (no restart); the others still work."""
    assert client.get("/jobs", headers=keys["bob"]).status_code == 200
    revoke_user(Path(settings.DATA_DIR), "bob")
    response = client.get("/jobs", headers=keys["bob"])
    assert (response.status_code, response.json()["detail"]) == (401, "missing or wrong X-API-Key header")
    assert client.get("/jobs", headers=keys["alice"]).status_code == 200


def test_the_keys_file_holds_no_key(settings: Settings, keys: dict[str, dict[str, str]]):
    """users.json has each user's SHA-256, never a key, and only its owner can read it."""
    path = users_path(Path(settings.DATA_DIR))
    text = path.read_text()
    for name in ("alice", "bob", "carol"):
        assert keys[name]["X-API-Key"] not in text
        assert keys[name]["X-API-Key"][4:20] not in text
    assert text.count('"key_sha256"') == 3
    assert path.stat().st_mode & 0o077 == 0


def test_whoami_names_the_caller(client: TestClient, keys: dict[str, dict[str, str]]):
    """/whoami answers the key's user and role; API_KEY is the admin; no key is a 401."""
    assert client.get("/whoami", headers=keys["alice"]).json() == {
        "name": "alice",
        "admin": False,
        "api_key_required": True,
    }
    assert client.get("/whoami", headers=keys["carol"]).json()["admin"] is True
    assert client.get("/whoami", headers=keys["admin"]).json() == {
        "name": "admin",
        "admin": True,
        "api_key_required": True,
    }
    assert client.get("/whoami").status_code == 401


def test_without_keys_the_gateway_is_open_as_before_and_says_so(
    settings: Settings, queue: RecordingQueue, nifti_path: Path, caplog: pytest.LogCaptureFixture
):
    """No API_KEY and no users file: no key needed, everyone sees every job; the start-up log warns."""
    from services.gateway.app import create_app
    from services.gateway.deps import get_queue

    app = create_app(settings)
    app.dependency_overrides[get_queue] = lambda: queue
    with caplog.at_level(logging.INFO), TestClient(app) as client:
        job_id = client.post("/denoise", data={"method": "n2v"}, files=_files(nifti_path)).json()["job_id"]
        assert [job["job_id"] for job in client.get("/jobs").json()["items"]] == [job_id]
        assert client.get("/whoami").json() == {"name": None, "admin": True, "api_key_required": False}
        assert client.get("/health").json()["api_key_required"] is False
    [line] = [record for record in caplog.records if record.getMessage().startswith("access:")]
    assert line.levelno == logging.WARNING
    assert "open, no key configured" in line.getMessage()


def test_with_keys_the_start_up_log_says_whose(
    settings: Settings,
    queue: RecordingQueue,
    caplog: pytest.LogCaptureFixture,
    keys: dict[str, dict[str, str]],
):
    """With API_KEY and users, the start-up line says a key is required, by whom, and never shows a key."""
    from services.gateway.app import create_app

    with caplog.at_level(logging.INFO), TestClient(create_app(settings)):
        pass
    [line] = [record.getMessage() for record in caplog.records if record.getMessage().startswith("access:")]
    assert "X-API-Key is required" in line and "API_KEY (the admin key)" in line and "3 user key(s)" in line
    assert ADMIN_KEY not in line


def test_a_users_file_alone_turns_keys_on(client: TestClient, settings: Settings):
    """No API_KEY but a users file: keys are required, even once every user is revoked (never open again)."""
    data_dir = Path(settings.DATA_DIR)
    key = add_user(data_dir, "alice")
    assert client.get("/jobs").status_code == 401
    assert client.get("/jobs", headers={"X-API-Key": key}).status_code == 200
    assert client.get("/health").json()["api_key_required"] is True
    revoke_user(data_dir, "alice")
    assert client.get("/jobs").status_code == 401
    assert client.get("/jobs", headers={"X-API-Key": key}).status_code == 401


def test_jobs_from_before_keys_are_the_admins(
    client: TestClient, settings: Settings, keys: dict[str, dict[str, str]]
):
    """A job recorded without an owner (made while the gateway had no keys) is shown to admins only."""
    write_record(
        Path(settings.DATA_DIR),
        JobRecord(
            id="legacy1",
            kind="metrics",
            created=utcnow(),
            steps=[JobStep(name="metrics", task="metrics.evaluate", task_id="legacy1-metrics")],
        ),
    )
    assert client.get("/jobs/legacy1", headers=keys["alice"]).status_code == 404
    assert client.get("/jobs/legacy1", headers=keys["admin"]).json()["owner"] is None


def test_an_unreadable_users_file_lets_only_the_admin_key_in(
    client: TestClient, settings: Settings, keys: dict[str, dict[str, str]]
):
    """A users file that does not parse (a bad hand edit) never opens the gateway: user keys are refused,
    API_KEY still works, and a fixed file is read again on the next request."""
    path = users_path(Path(settings.DATA_DIR))
    good = path.read_text()
    path.write_text("{not json")
    assert client.get("/jobs", headers=keys["alice"]).status_code == 401
    assert client.get("/jobs").status_code == 401
    assert client.get("/jobs", headers=keys["admin"]).status_code == 200
    path.write_text(good)
    assert client.get("/jobs", headers=keys["alice"]).status_code == 200
