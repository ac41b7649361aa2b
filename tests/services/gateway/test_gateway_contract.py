"""The API's contract: one error body for every 4xx, every status declared, Allow headers, schemathesis."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from services.embedded.runtime import free_port, start_process, stop_processes, wait_until_healthy

CONFIG = Path(__file__).with_name("schemathesis.toml")
DECLARED = {
    ("/denoise", "post"): {"202", "400", "401", "404", "413", "415", "422", "503", "507"},
    ("/train", "post"): {"202", "400", "401", "404", "413", "415", "422", "503", "507"},
    ("/metrics", "post"): {"202", "400", "401", "404", "413", "415", "422", "503", "507"},
    ("/jobs", "get"): {"200", "401", "404", "409", "422", "503"},
    ("/jobs/{job_id}", "get"): {"200", "401", "404", "409", "422", "503"},
    ("/jobs/{job_id}", "delete"): {"204", "401", "404", "409", "422", "503"},
    ("/jobs/{job_id}/result", "get"): {"200", "401", "404", "409", "422", "503"},
    ("/jobs/{job_id}/preview/{kind}", "get"): {"200", "401", "404", "409", "422", "503", "507"},
    ("/models", "get"): {"200", "401", "404", "422"},
    ("/models/{model_id}", "get"): {"200", "401", "404", "422"},
    ("/models/{model_id}", "delete"): {"204", "401", "403", "404", "422"},
    ("/models/{model_id}", "patch"): {"200", "400", "401", "403", "404", "422"},
    ("/whoami", "get"): {"200", "401"},
    ("/estimates/fit", "get"): {"200", "401", "422"},
    ("/health", "get"): {"200"},
}


def test_every_status_is_declared_with_the_one_error_model(client: TestClient):
    """Each operation declares the statuses it can answer; every error status uses ErrorDetail."""
    schema = client.get("/openapi.json").json()
    for (path, method), statuses in DECLARED.items():
        responses = schema["paths"][path][method]["responses"]
        assert set(responses) == statuses, (path, method)
        for status, response in responses.items():
            if status.startswith(("4", "5")):
                body = response["content"]["application/json"]["schema"]
                assert body == {"$ref": "#/components/schemas/ErrorDetail"}, (path, method, status)
    assert "HTTPValidationError" not in schema["components"]["schemas"]
    assert schema["components"]["schemas"]["ErrorDetail"]["properties"]["detail"]["type"] == "string"


def test_a_request_missing_fields_gets_one_sentence(client: TestClient):
    """FastAPI's field errors come back as one string naming each field, as the schema declares."""
    response = client.post("/metrics", data={"unrelated": "1"})
    assert response.status_code == 422
    assert response.json() == {"detail": "prediction: Field required; ground_truth: Field required"}
    response = client.get("/estimates/fit", params={"method": "n3v", "epochs": 0, "steps_per_epoch": 1})
    assert response.json() == {
        "detail": "method: Input should be 'n2n' or 'n2v'; epochs: Input should be greater than or equal to 1"
    }


def test_allow_lists_every_method_of_a_path(client: TestClient):
    """An unsupported method gets 405 whose Allow names every method the path serves (DELETE included)."""
    for path, allowed in (
        ("/jobs/abc", "DELETE, GET"),
        ("/models/abc", "DELETE, GET, PATCH"),
        ("/denoise", "POST"),
    ):
        response = client.options(path)
        assert response.status_code == 405, path
        assert response.headers["allow"] == allowed
        assert response.json() == {"detail": "Method Not Allowed"}


@pytest.mark.slow
def test_schemathesis_finds_nothing_with_every_check(tmp_path: Path):
    """schemathesis --checks all, a fixed seed and a bounded number of examples, against a served gateway
    with its own data directory and an API key: no server error, no undeclared status or body."""
    st = shutil.which("st", path=str(Path(sys.executable).parent)) or pytest.fail("schemathesis is missing")
    port = free_port()
    env = {**os.environ, "DATA_DIR": str(tmp_path / "data"), "API_KEY": "contract-key", "BROKER_URL": ""}
    command = [sys.executable, "-m", "uvicorn", "services.gateway.app:app", "--port", str(port)]
    gateway = start_process(command, env, tmp_path / "gateway.log")
    try:
        base = f"http://127.0.0.1:{port}"
        wait_until_healthy(base, gateway)
        run = subprocess.run(
            [st, "--config-file", str(CONFIG), "run", f"{base}/openapi.json", "--checks", "all",
             "--header", "X-API-Key: contract-key", "--max-examples", "25", "--seed", "14", "--no-color"],
            capture_output=True, text=True, timeout=600, cwd=tmp_path,  # its cache folder goes there
        )  # fmt: skip
        assert run.returncode == 0, run.stdout[-6000:]
        assert httpx.get(f"{base}/health").status_code == 200
    finally:
        stop_processes([gateway])


def test_no_form_field_or_query_parameter_is_declared_nullable(client: TestClient):
    """A form field or query parameter cannot carry null (leaving it out says none): none is declared so,
    and the listing cursor and the training files say what the server takes (a pattern, at least one)."""
    schema = client.get("/openapi.json").json()
    bodies = {
        name: body for name, body in schema["components"]["schemas"].items() if name.startswith("Body_")
    }
    assert bodies
    for name, body in bodies.items():
        for field, field_schema in body["properties"].items():
            assert "null" not in str(field_schema.get("anyOf", "")), (name, field)
            assert field_schema.get("type") != "null", (name, field)
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            for parameter in operation.get("parameters", []):
                assert "anyOf" not in parameter["schema"], (path, method, parameter["name"])
    for path in ("/jobs", "/models"):
        (cursor,) = [p for p in schema["paths"][path]["get"]["parameters"] if p["name"] == "cursor"]
        assert cursor["schema"]["pattern"].startswith("^[0-9]{8}T")
    assert schema["components"]["schemas"]["Body_train_train_post"]["properties"]["files"]["minItems"] == 1


def test_volumes_of_another_shape_are_refused_by_the_declared_pattern(client: TestClient):
    """`volumes` is declared as comma-separated ASCII numbers; other text (a range, a superscript digit that
    str.isdigit admits but int() does not read) is refused by that pattern before anything is read."""
    for route, files in (("/denoise", {"file": ("a.nii", b"x")}), ("/train", {"files": ("a.nii", b"x")})):
        for volumes in ("0-1", "\u00b2,1", "0,,1"):
            response = client.post(route, data={"method": "n2n", "volumes": volumes}, files=files)
            assert response.status_code == 422, (route, volumes, response.text)
            assert response.json()["detail"].startswith("volumes: String should match pattern"), volumes
