"""docker/stack-test.yml and docker/stacktest/render.py: the stack test's config, as compose renders it."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
RENDER = ROOT / "docker" / "stacktest" / "render.py"
FILES = ["-f", "docker-compose.yml", "-f", "docker/stack-test.yml"]
ENV = {
    "API_KEY": "k" * 64,
    "STACK_REDIS_PORT": "16390",
    "STACK_GATEWAY_PORT": "18090",
    "TAG": "cpu",
    "STACK_HTTPS_PORT": "18443",
}
APP_SERVICES = ("gateway", "worker-n2n", "worker-n2v", "worker-metrics")


def load_render() -> ModuleType:
    """Import docker/stacktest/render.py by path (docker/ holds build files, not a package)."""
    spec = importlib.util.spec_from_file_location("render", RENDER)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


render = load_render()


def compose_config(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """`docker-compose config` of the stack test's files with exactly `env` set."""
    if shutil.which("docker-compose") is None:
        pytest.skip("no docker-compose on PATH (apt-get install -y docker-compose)")
    base = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(Path.home())}
    return subprocess.run(
        ["docker-compose", *FILES, "config"],
        cwd=ROOT,
        env=base | env,
        capture_output=True,
        text=True,
        check=False,
    )


@cache
def merged() -> str:
    """The stack test's config as compose merges it (GPU reservations still in)."""
    result = compose_config(ENV)
    assert result.returncode == 0, result.stderr
    return result.stdout


def rendered() -> dict[str, Any]:
    """The merged config through render.py's command line, as stack-test.sh runs it."""
    done = subprocess.run(
        [sys.executable, str(RENDER)], input=merged(), capture_output=True, text=True, check=True
    )
    return yaml.safe_load(done.stdout)


def devices(service: dict[str, Any]) -> list[Any]:
    """The service's device reservations."""
    return service.get("deploy", {}).get("resources", {}).get("reservations", {}).get("devices", [])


def test_an_override_alone_keeps_the_gpu_reservations() -> None:
    """Compose merges device lists: without render.py the test stack would still ask for GPUs."""
    services = yaml.safe_load(merged())["services"]
    assert devices(services["worker-n2n"]) and devices(services["worker-n2v"])


def test_rendered_stack_reserves_no_gpu_and_publishes_no_port() -> None:
    """After render.py: no device reservation and no published port anywhere; everything on the host network."""
    services = rendered()["services"]
    for name in ("redis", *APP_SERVICES):
        assert devices(services[name]) == [], name
        assert "ports" not in services[name], name
        assert services[name]["network_mode"] == "host", name
    assert "deploy" in services["worker-n2n"], "render drops the devices only, not the rest of deploy"


def test_rendered_stack_keeps_off_the_machines_redis() -> None:
    """Redis listens on, is health-checked on, and is reached at the test port on loopback, never 6379."""
    services = rendered()["services"]
    command = services["redis"]["command"]
    assert command[command.index("--port") + 1] == "16390"
    assert command[command.index("--bind") + 1] == "127.0.0.1"
    assert "redis-cli -p 16390 ping" in services["redis"]["healthcheck"]["test"][1]
    for name in APP_SERVICES:
        environment = services[name]["environment"]
        assert environment["BROKER_URL"] == "redis://127.0.0.1:16390/0", name
        assert environment["RESULT_BACKEND"] == "redis://127.0.0.1:16390/1", name
    started = {name: services[name] for name in ("redis", *APP_SERVICES)}  # flower: a profile, not started
    assert "6379" not in yaml.safe_dump(started)


def test_rendered_stack_runs_the_built_cpu_images_with_the_fresh_key() -> None:
    """Each service runs the image stack-test.sh tagged; the gateway has the run's API key and port."""
    services = rendered()["services"]
    for name in APP_SERVICES:
        assert services[name]["image"] == f"fetal-denoise/{name}:cpu", name
    assert services["redis"]["image"] == "fetal-denoise/redis-test:bookworm"
    gateway = services["gateway"]["environment"]
    assert gateway["API_KEY"] == ENV["API_KEY"]
    assert (gateway["UVICORN_HOST"], str(gateway["UVICORN_PORT"])) == ("127.0.0.1", "18090")


def test_stack_config_needs_its_ports() -> None:
    """Without STACK_REDIS_PORT compose refuses, naming the variable."""
    result = compose_config({k: v for k, v in ENV.items() if k != "STACK_REDIS_PORT"})
    assert result.returncode != 0
    assert "set STACK_REDIS_PORT" in result.stderr


def test_render_leaves_a_bridge_service_its_ports() -> None:
    """Only host-network services lose their ports: on a bridge network they are how a service is reached."""
    config = {
        "services": {
            "web": {"ports": [{"published": 80, "target": 8000}]},
            "gpu": {"network_mode": "host", "ports": ["1:1"], "deploy": {"resources": {"reservations": {}}}},
        }
    }
    out = render.without_gpus_and_ports(config)["services"]
    assert out["web"]["ports"] == [{"published": 80, "target": 8000}]
    assert "ports" not in out["gpu"]
