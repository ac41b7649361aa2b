"""Deployment files, checked by the tools that read them: the compose files merged and validated by
`docker-compose config` (Debian's docker-compose 1.29, which .ci/run installs; or `docker compose`), the
build context filtered by the docker SDK's .dockerignore code, the Dockerfile parsed by BuildKit's parser
(tests/docker/dockerfile_targets.py), the workers' tasks as Celery registers them.
docker/stack-test.sh builds and runs all of it for real.
"""

from __future__ import annotations

import importlib
import json
import shutil
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from docker.utils.build import exclude_paths

import shared.queue.names as queue_names
from tests.docker import dockerfile_targets as df

ROOT = Path(__file__).resolve().parents[1]
COMBOS = {
    "single-host": ["docker-compose.yml"],
    "main-host": ["docker-compose.yml", "docker/multi-host.yml"],
    "worker-host": ["docker/worker-host.yml"],
}
COMPOSE_ENV = {
    "API_KEY": "test-key",
    "REDIS_PASSWORD": "test-password",
    "NFS_SERVER": "10.0.0.5",
    "NFS_EXPORT": "/srv/fetal-denoise",
    "REDIS_HOST": "10.0.0.2",
}
TARGETS = ("gateway", "worker-n2n", "worker-n2v", "worker-metrics")
WORKERS = {"worker-n2n": "n2n", "worker-n2v": "n2v", "worker-metrics": "metrics"}
GPU_WORKERS = ("worker-n2n", "worker-n2v")
ROOT_USERS = {"", "root", "0", "0:0", "root:root"}
PROXY_DOCKERFILE = "docker/proxy.Dockerfile"


def compose_cli() -> list[str] | None:
    """The compose command on PATH: Debian's `docker-compose`, else `docker compose` (v2), else None."""
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    if shutil.which("docker"):
        probe = subprocess.run(["docker", "compose", "version"], capture_output=True, check=False)
        if probe.returncode == 0:
            return ["docker", "compose"]
    return None


def run_compose(files: list[str], env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """`compose -f ... ARGS` from the repository root, with exactly the given variables set."""
    cli = compose_cli()
    if cli is None:
        pytest.skip("no docker-compose or docker compose on PATH (apt-get install -y docker-compose)")
    command = [*cli, *(arg for f in files for arg in ("-f", f)), *args]
    base = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(Path.home())}
    return subprocess.run(command, cwd=ROOT, env=base | env, capture_output=True, text=True, check=False)


@cache
def config(combo: str) -> dict[str, Any]:
    """The merged, interpolated configuration compose itself makes of a set of compose files."""
    result = run_compose(COMBOS[combo], COMPOSE_ENV, "config")
    assert result.returncode == 0, result.stderr
    return yaml.safe_load(result.stdout)


def built(combo: str) -> dict[str, dict[str, Any]]:
    """Service -> its `build` section, for every service the combination builds."""
    return {name: svc["build"] for name, svc in config(combo)["services"].items() if "build" in svc}


def has_healthcheck(service: dict[str, Any]) -> bool:
    """Whether compose or the image's Dockerfile target gives the service a health check."""
    if service.get("healthcheck", {}).get("test"):
        return not service["healthcheck"].get("disable", False)
    if "build" not in service:
        return False
    healthcheck = df.final(service["build"]["target"], "HEALTHCHECK")
    return healthcheck is not None and healthcheck.value[0].upper() != "NONE"


@pytest.mark.parametrize("combo", COMBOS)
def test_compose_files_validate(combo: str) -> None:
    """Each compose file set validates with the compose CLI."""
    result = run_compose(COMBOS[combo], COMPOSE_ENV, "config", "-q")
    assert result.returncode == 0, result.stderr


def test_compose_refuses_to_start_without_api_key() -> None:
    """Without API_KEY the stack refuses to start, saying which variable to set."""
    result = run_compose(COMBOS["single-host"], {}, "config", "-q")
    assert result.returncode != 0
    assert "set API_KEY" in result.stderr


@pytest.mark.parametrize("combo", COMBOS)
def test_every_build_is_a_target_of_the_one_dockerfile(combo: str) -> None:
    """Every built service names a target of the repository's Dockerfile, with the repository as context
    (but the nginx proxy: its own Dockerfile, a Debian image with no Python of the project)."""
    builds = built(combo)
    assert builds, combo
    proxy = builds.pop("proxy", None)
    if proxy is not None:
        assert Path(proxy["context"]).resolve() == ROOT
        assert proxy["dockerfile"] == PROXY_DOCKERFILE
    for name, build in builds.items():
        assert Path(build["context"]).resolve() == ROOT, name
        assert build.get("dockerfile", "Dockerfile") == "Dockerfile", name
        assert build["target"] == name, f"{name} builds target {build['target']}"
        assert name in df.stages(), f"no stage {name} in the Dockerfile"


def context_paths() -> set[str]:
    """Every path `docker build .` sends, as the docker SDK filters the repository with .dockerignore."""
    patterns = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.strip().startswith("#")
    ]
    return set(exclude_paths(str(ROOT), patterns, dockerfile="Dockerfile"))


@pytest.mark.parametrize("target", TARGETS)
def test_every_context_source_exists_and_is_sent(target: str) -> None:
    """Every file or folder a target COPYs or bind-mounts exists and reaches the build context."""
    sent = context_paths()
    sources = df.context_sources(target)
    assert "shared/" in sources and "services/" in sources
    for source in sources:
        path = ROOT / source
        assert path.exists(), f"{target}: {source} does not exist"
        assert source.rstrip("/") in sent, f"{target}: {source} is kept out by .dockerignore"
        if path.is_dir():
            files = [p.relative_to(ROOT).as_posix() for p in path.rglob("*.py")]
            assert all(f in sent for f in files), f"{target}: files of {source} are kept out"


def test_dockerignore_keeps_local_state_out(tmp_path: Path) -> None:
    """The virtualenv, data, git history, a .env with secrets and bytecode never reach the build context."""
    kept_out = [".venv/bin/python", "data/jobs/a/in.nii", ".git/HEAD", ".env", "shared/__pycache__/x.pyc"]
    sent_in = ["shared/volume.py", "services/gateway/app.py", "pyproject.toml", "docker/healthcheck.py"]
    for relpath in kept_out + sent_in:
        (tmp_path / relpath).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / relpath).write_text("x")
    patterns = [p for p in (ROOT / ".dockerignore").read_text().splitlines() if p and not p.startswith("#")]
    sent = set(exclude_paths(str(tmp_path), patterns))
    assert not sent & set(kept_out)
    assert set(sent_in) <= sent


@pytest.mark.parametrize("target", TARGETS)
def test_every_image_runs_as_non_root_with_a_healthcheck(target: str) -> None:
    """Each target ends as a non-root USER, with a health check that runs the repository's script."""
    user = df.final(target, "USER")
    assert user is not None and user.value[0] not in ROOT_USERS, f"{target} runs as root"
    healthcheck = df.final(target, "HEALTHCHECK")
    assert healthcheck is not None, target
    assert df.exec_form(healthcheck)[:2] == ["python", "/app/docker/healthcheck.py"]


@pytest.mark.parametrize("combo", COMBOS)
def test_every_service_is_health_checked(combo: str) -> None:
    """Every service has a health check, from compose or its image, so depends_on can wait for it."""
    for name, service in config(combo)["services"].items():
        assert has_healthcheck(service), f"{combo}: {name} has no healthcheck"


def test_gpu_is_the_default_build_and_cpu_a_build_argument() -> None:
    """Without build arguments the workers get CUDA torch from PyPI and TensorFlow's CUDA build."""
    assert df.arg_default("TENSORFLOW") == "tensorflow[and-cuda]"
    assert df.arg_default("TORCH_WHEEL") == ""
    assert df.arg_default("TORCH_INDEX_URL") == ""
    assert df.env("worker-n2n")["NVIDIA_DRIVER_CAPABILITIES"] == "compute,utility"
    assert df.env("worker-n2v")["TF_USE_LEGACY_KERAS"] == "1"


def test_gpu_workers_reserve_one_nvidia_gpu() -> None:
    """GPU workers reserve one NVIDIA GPU each; the gateway, Redis and the metrics worker none."""
    for combo in COMBOS:
        for name, service in config(combo)["services"].items():
            devices = (
                service.get("deploy", {}).get("resources", {}).get("reservations", {}).get("devices", [])
            )
            if name not in GPU_WORKERS:
                assert devices == [], f"{combo}: {name} reserves a device"
                continue
            assert len(devices) == 1, f"{combo}: {name}"
            (device,) = devices
            assert device["driver"] == "nvidia" and "gpu" in device["capabilities"], f"{combo}: {name}"
            assert device.get("count") == 1 or len(device.get("device_ids", [])) == 1, f"{combo}: {name}"


@pytest.mark.parametrize("combo", COMBOS)
def test_app_services_share_data_and_queue(combo: str) -> None:
    """Gateway and workers mount one named volume at /data, reach one broker, and wait for healthy Redis."""
    services = config(combo)["services"]
    names = [n for n in ("gateway", *WORKERS) if n in services]
    for name in names:
        assert [v.removesuffix(":rw") for v in services[name]["volumes"]] == ["data:/data"], name
    assert "data" in config(combo)["volumes"]
    envs = [services[n]["environment"] for n in names]
    assert {e["DATA_DIR"] for e in envs} == {"/data"}
    assert len({e["BROKER_URL"] for e in envs}) == 1 and envs[0]["BROKER_URL"].startswith("redis://")
    assert len({e["RESULT_BACKEND"] for e in envs}) == 1
    assert envs[0]["BROKER_URL"] != envs[0]["RESULT_BACKEND"]
    if "redis" in services:
        for name in names:
            assert services[name]["depends_on"] == {"redis": {"condition": "service_healthy"}}, name


def test_redis_persists_and_flower_is_opt_in() -> None:
    """Redis keeps an append-only file on its own volume; Flower starts only with the monitoring profile."""
    services = config("single-host")["services"]
    command = services["redis"]["command"]
    assert command[command.index("--appendonly") + 1] == "yes"
    assert [v.removesuffix(":rw") for v in services["redis"]["volumes"]] == ["redis-data:/data"]
    assert services["flower"]["profiles"] == ["monitoring"]
    assert all("profiles" not in svc for name, svc in services.items() if name != "flower")


def registered_tasks(module: str) -> set[str]:
    """Task names registered by the app Celery finds for `celery -A module` (in a fresh interpreter)."""
    script = (
        "import json, sys; from celery.app.utils import find_app; "
        "app = find_app(sys.argv[1]); "
        "print(json.dumps(sorted(t for t in app.tasks if not t.startswith('celery.'))))"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, module], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return set(json.loads(done.stdout))


@pytest.mark.slow
def test_workers_consume_every_queue_and_register_its_tasks() -> None:
    """One worker per queue, whose -A module registers every task routed there; GPU workers take one at a time."""
    served = {}
    for name, queue in WORKERS.items():
        command = df.exec_form(df.final(name, "CMD"))
        assert command[:2] == ["celery", "-A"] and command[3] == "worker", name
        served[command[command.index("-Q") + 1]] = name
        assert command[command.index("-n") + 1] == f"{queue}@%h"
        routed = {task for task, q in queue_names.routes().items() if q == queue}
        assert registered_tasks(command[2]) == routed, f"{name}: -A {command[2]}"
        if name in GPU_WORKERS:
            assert command[command.index("--pool") + 1] == "prefork"
            assert command[command.index("--concurrency") + 1] == "1"
    assert served == {queue: name for name, queue in WORKERS.items()}
    assert sorted(served) == sorted(queue_names.queues())


@pytest.mark.slow
def test_gateway_serves_the_app_on_the_port_its_healthcheck_and_compose_use() -> None:
    """uvicorn's target is the gateway app; UVICORN_PORT is the port exposed, published and health-checked."""
    command = df.exec_form(df.final("gateway", "CMD"))
    assert command[0] == "uvicorn" and len(command) == 2, (
        "host and port come from UVICORN_HOST / UVICORN_PORT"
    )
    module, _, attribute = command[1].partition(":")
    assert callable(getattr(importlib.import_module(module), attribute)), command[1]
    port = df.env("gateway")["UVICORN_PORT"]
    assert df.final("gateway", "EXPOSE").value == (port,)
    assert df.exec_form(df.final("gateway", "HEALTHCHECK"))[2:] == ["http", "/health"]
    # Published on the host's loopback only (compose writes such a port as "IP:HOST:CONTAINER"): clients
    # come through the proxy, which forwards to the gateway's port.
    published = config("single-host")["services"]["gateway"]["ports"]
    assert [p.removesuffix("/tcp").split(":") for p in published] == [["127.0.0.1", "8000", port]]
    assert config("single-host")["services"]["proxy"]["environment"]["PROXY_UPSTREAM"] == f"gateway:{port}"


def test_the_proxy_image_is_non_root_and_its_files_reach_the_context() -> None:
    """docker/proxy.Dockerfile: what it COPYs is sent by .dockerignore; nginx runs as www-data."""
    text = (ROOT / PROXY_DOCKERFILE).read_text()
    copied = [line.split()[1] for line in text.splitlines() if line.startswith("COPY ")]
    assert copied
    sent = context_paths()
    for source in copied:
        assert (ROOT / source).is_file() and source in sent, source
    users = [line.split()[1] for line in text.splitlines() if line.startswith("USER ")]
    assert users and users[-1] not in ROOT_USERS
