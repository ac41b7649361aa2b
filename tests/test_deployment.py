"""Deployment files: the compose files validate, every image is built from files that exist in the build
context, runs as a non-root user with a health check, and the GPU workers reserve an NVIDIA GPU.

The compose files are validated with `docker compose` / `docker-compose` (`config -q`) where one is on
PATH, else by a structural check done here. YAML is read with PyYAML, or ruamel.yaml (an n2v dependency).
"""

from __future__ import annotations

import ast
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import shared.queue.names as queue_names

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = "docker-compose.yml"
COMBOS = {
    "single-host": [COMPOSE],
    "main-host": [COMPOSE, "docker/multi-host.yml"],
    "worker-host": ["docker/worker-host.yml"],
}
COMPOSE_ENV = {
    "API_KEY": "test-key",
    "REDIS_PASSWORD": "test-password",
    "NFS_SERVER": "10.0.0.5",
    "NFS_EXPORT": "/srv/fetal-denoise",
    "REDIS_HOST": "10.0.0.2",
}
WORKERS = {"worker-n2n": "n2n", "worker-n2v": "n2v", "worker-metrics": "metrics"}
GPU_WORKERS = ("worker-n2n", "worker-n2v")
APP_SERVICES = ("gateway", *WORKERS)
ROOT_USERS = {"", "root", "0", "0:0", "root:root"}
# Service keys of the compose specification that the fallback check accepts.
SERVICE_KEYS = {
    "build", "cap_add", "cap_drop", "command", "container_name", "depends_on", "deploy", "devices",
    "entrypoint", "env_file", "environment", "expose", "extra_hosts", "healthcheck", "hostname", "image",
    "init", "ipc", "labels", "logging", "networks", "ports", "profiles", "read_only", "restart",
    "security_opt", "shm_size", "stop_grace_period", "stop_signal", "tmpfs", "ulimits", "user",
    "volumes", "working_dir",
}  # fmt: skip


def load_yaml(relpath: str) -> dict[str, Any]:
    """Parse a YAML file of the repository with whichever safe loader is installed."""
    text = (ROOT / relpath).read_text()
    try:
        import yaml
    except ImportError:
        try:
            from ruamel.yaml import YAML
        except ImportError:
            pytest.skip("neither PyYAML nor ruamel.yaml is installed")
        return YAML(typ="safe", pure=True).load(text)
    return yaml.safe_load(text)


def compose_cli() -> list[str] | None:
    """The compose command on PATH (`docker compose` v2 first), or None."""
    if shutil.which("docker"):
        probe = subprocess.run(["docker", "compose", "version"], capture_output=True, check=False)
        if probe.returncode == 0:
            return ["docker", "compose"]
    return ["docker-compose"] if shutil.which("docker-compose") else None


def run_compose_config(files: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """`compose -f ... config -q` from the repository root, with exactly the given variables set."""
    cli = compose_cli()
    assert cli is not None
    args = [*cli, *(arg for f in files for arg in ("-f", f)), "config", "-q"]
    base = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "DOCKER_CONFIG")}
    return subprocess.run(args, cwd=ROOT, env=base | env, capture_output=True, text=True, check=False)


def merged_config(files: list[str]) -> dict[str, Any]:
    """The compose files merged the way compose does it for the keys checked here (maps merge, last wins)."""

    def merge(a: Any, b: Any) -> Any:
        if isinstance(a, dict) and isinstance(b, dict):
            return {k: merge(a[k], b[k]) if k in a and k in b else b.get(k, a.get(k)) for k in a | b}
        return b

    config: dict[str, Any] = {}
    for f in files:
        config = merge(config, load_yaml(f))
    return config


def structural_problems(config: dict[str, Any]) -> list[str]:
    """What compose itself would refuse in `config`, for the keys this project uses."""
    known = ("services", "volumes", "networks")
    problems = [f"unknown top-level key {k}" for k in config if k not in known and not k.startswith("x-")]
    services = config.get("services") or {}
    volumes = config.get("volumes") or {}
    for name, svc in services.items():
        problems += [f"{name}: unknown key {k}" for k in svc if k not in SERVICE_KEYS]
        if "image" not in svc and "build" not in svc:
            problems.append(f"{name}: neither image nor build")
        if "build" in svc and not (ROOT / svc["build"].get("dockerfile", "Dockerfile")).is_file():
            problems.append(f"{name}: no Dockerfile {svc['build'].get('dockerfile')}")
        for dep, cond in (svc.get("depends_on") or {}).items():
            if dep not in services:
                problems.append(f"{name}: depends on unknown service {dep}")
            elif cond.get("condition") == "service_healthy" and not has_healthcheck(services[dep]):
                problems.append(f"{name}: waits for {dep} to be healthy, which has no healthcheck")
        for mount in svc.get("volumes") or []:
            source = mount.split(":")[0]
            if not source.startswith((".", "/")) and source not in volumes:
                problems.append(f"{name}: undeclared volume {source}")
    return problems


def has_healthcheck(svc: dict[str, Any]) -> bool:
    """Whether compose, or the final stage of the service's Dockerfile, defines a health check."""
    if "test" in (svc.get("healthcheck") or {}):
        return True
    if "build" not in svc:
        return False
    return not final_stage_instructions(svc).get("HEALTHCHECK", "NONE").upper().startswith("NONE")


def dockerfile_instructions(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of a Dockerfile, continuation lines joined, comments dropped."""
    joined = re.sub(r"\\\n(\s*#.*\n)*", " ", path.read_text())
    pairs = []
    for line in joined.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            word, _, rest = line.strip().partition(" ")
            pairs.append((word.upper(), rest.strip()))
    return pairs


def final_stage_instructions(svc: dict[str, Any]) -> dict[str, str]:
    """The last stage's instructions of a service's Dockerfile, last one of each kind."""
    pairs = dockerfile_instructions(ROOT / svc["build"]["dockerfile"])
    last_from = max(i for i, (word, _) in enumerate(pairs) if word == "FROM")
    return dict(pairs[last_from:])


def exec_form(args: str) -> list[str]:
    """The argument list of an exec-form (JSON) or shell-form instruction."""
    return json.loads(args) if args.startswith("[") else shlex.split(args)


def dockerignored(relpath: str, patterns: list[str]) -> bool:
    """Whether .dockerignore `patterns` keep `relpath` out of the build context (last match wins)."""

    def regex(pattern: str) -> re.Pattern[str]:
        parts = re.split(r"(\*\*/|\*\*|\*|\?)", pattern.strip("/"))
        table = {"**/": "(.*/)?", "**": ".*", "*": "[^/]*", "?": "[^/]"}
        return re.compile("".join(table.get(p, re.escape(p)) for p in parts) + "$")

    # Docker matches a pattern against the path and every parent directory of it.
    prefixes = ["/".join(relpath.split("/")[: i + 1]) for i in range(relpath.count("/") + 1)]
    ignored = False
    for raw in patterns:
        exclude = not raw.startswith("!")
        if any(regex(raw.lstrip("!")).match(p) for p in prefixes):
            ignored = exclude
    return ignored


def built_services() -> dict[str, dict[str, Any]]:
    """Every service that some compose file builds, by compose file and name."""
    found = {}
    for files in COMBOS.values():
        for name, svc in merged_config(files)["services"].items():
            if "build" in svc:
                build = dict(svc["build"])
                # worker-host.yml lives in docker/: its context `..` is the repository root.
                assert (ROOT / Path(files[0]).parent / build["context"]).resolve() == ROOT
                found[f"{files[0]}:{name}"] = {"build": build}
    return found


@pytest.mark.parametrize("combo", COMBOS)
def test_compose_files_validate(combo: str) -> None:
    """Each compose file set validates with the compose CLI, or else passes the structural check."""
    files = COMBOS[combo]
    if compose_cli() is not None:
        result = run_compose_config(files, COMPOSE_ENV)
        assert result.returncode == 0, result.stderr
    else:
        assert structural_problems(merged_config(files)) == []


def test_structural_check_reports_broken_compose() -> None:
    """The fallback check names a missing Dockerfile, an undeclared volume, an unknown key and service."""
    config = {
        "services": {
            "gateway": {
                "build": {"context": ".", "dockerfile": "services/nope/Dockerfile"},
                "volumes": ["x:/data"],
            },
            "worker": {"image": "w", "inits": True, "depends_on": {"db": {"condition": "service_healthy"}}},
        },
        "volumes": {"data": None},
    }
    assert structural_problems(config) == [
        "gateway: no Dockerfile services/nope/Dockerfile",
        "gateway: undeclared volume x",
        "worker: unknown key inits",
        "worker: depends on unknown service db",
    ]


def test_compose_refuses_to_start_without_api_key() -> None:
    """Without API_KEY the stack refuses to start, saying which variable to set."""
    if compose_cli() is not None:
        result = run_compose_config([COMPOSE], {})
        assert result.returncode != 0
        assert "set API_KEY" in result.stderr
    else:
        api_key = merged_config([COMPOSE])["services"]["gateway"]["environment"]["API_KEY"]
        assert re.fullmatch(r"\$\{API_KEY:\?set API_KEY.*\}", api_key)


@pytest.mark.parametrize("service", sorted(built_services()))
def test_every_copied_file_exists_in_build_context(service: str) -> None:
    """Every file or folder a Dockerfile COPYs exists and is not excluded by .dockerignore."""
    dockerfile = ROOT / built_services()[service]["build"]["dockerfile"]
    patterns = [p for p in (ROOT / ".dockerignore").read_text().splitlines() if p and not p.startswith("#")]
    copies = [
        exec_form(args) for word, args in dockerfile_instructions(dockerfile) if word in ("COPY", "ADD")
    ]
    sources = [s for args in copies if not any(a.startswith("--from") for a in args) for s in args[:-1]]
    assert sources, f"{dockerfile} copies nothing from the build context"
    for source in (s for s in sources if not s.startswith("--")):
        matches = sorted(ROOT.glob(source.rstrip("/")))
        assert matches, f"{dockerfile}: COPY {source} matches nothing"
        for match in matches:
            relpath = match.relative_to(ROOT).as_posix()
            assert not dockerignored(relpath, patterns), f"{dockerfile}: {relpath} is in .dockerignore"


def test_dockerignore_keeps_local_state_out() -> None:
    """The virtualenv, the data folder, git history and a .env with secrets never reach an image."""
    patterns = [p for p in (ROOT / ".dockerignore").read_text().splitlines() if p and not p.startswith("#")]
    for relpath in (
        ".venv/bin/python",
        "data/jobs/a/in.nii",
        ".git/HEAD",
        ".env",
        "shared/__pycache__/x.pyc",
    ):
        assert dockerignored(relpath, patterns), relpath
    assert not dockerignored("shared/volume.py", patterns)


@pytest.mark.parametrize("combo", COMBOS)
def test_every_service_is_non_root_and_health_checked(combo: str) -> None:
    """Each built image ends as a non-root USER; every service has a healthcheck (image or compose)."""
    for name, svc in merged_config(COMBOS[combo])["services"].items():
        if "build" in svc:
            user = final_stage_instructions(svc).get("USER", "").strip()
            assert user not in ROOT_USERS, f"{name} runs as root"
        assert has_healthcheck(svc), f"{name} has no healthcheck"


def test_gpu_workers_reserve_one_nvidia_gpu() -> None:
    """GPU workers reserve one NVIDIA GPU each; the gateway and metrics worker reserve none."""
    for combo, files in COMBOS.items():
        for name, svc in merged_config(files)["services"].items():
            devices = svc.get("deploy", {}).get("resources", {}).get("reservations", {}).get("devices", [])
            if name not in GPU_WORKERS:
                assert devices == [], f"{combo}: {name} reserves a device"
                continue
            assert len(devices) == 1, f"{combo}: {name}"
            (device,) = devices
            assert device["driver"] == "nvidia" and "gpu" in device["capabilities"]
            assert device.get("count") == 1 or len(device.get("device_ids", [])) == 1, f"{combo}: {name}"


@pytest.mark.parametrize("combo", COMBOS)
def test_app_services_share_data_and_queue(combo: str) -> None:
    """Gateway and workers mount one named volume at /data, reach one broker, and wait for healthy Redis."""
    config = merged_config(COMBOS[combo])
    names = [n for n in APP_SERVICES if n in config["services"]]
    mounts = {n: config["services"][n]["volumes"] for n in names}
    assert all(m == ["data:/data"] for m in mounts.values()), mounts
    assert "data" in config["volumes"]
    envs = [config["services"][n]["environment"] for n in names]
    assert {e["DATA_DIR"] for e in envs} == {"/data"}
    assert len({e["BROKER_URL"] for e in envs}) == 1 and envs[0]["BROKER_URL"].startswith("redis://")
    assert len({e["RESULT_BACKEND"] for e in envs}) == 1
    assert envs[0]["BROKER_URL"] != envs[0]["RESULT_BACKEND"]
    if "redis" in config["services"]:
        for n in names:
            assert config["services"][n]["depends_on"] == {"redis": {"condition": "service_healthy"}}


def test_redis_persists_and_flower_is_opt_in() -> None:
    """Redis keeps an append-only file on its own volume; Flower starts only with the monitoring profile."""
    services = merged_config([COMPOSE])["services"]
    command = services["redis"]["command"]
    assert command[command.index("--appendonly") + 1] == "yes"
    assert services["redis"]["volumes"] == ["redis-data:/data"]
    assert "test" in services["redis"]["healthcheck"]
    assert services["flower"]["profiles"] == ["monitoring"]
    assert all("profiles" not in svc for name, svc in services.items() if name != "flower")


def registered_task_names(module: str) -> set[str]:
    """Task names of ours that importing `module` in a fresh process (as `celery -A module` does) registers."""
    probe = f"import json, {module} as m; print(json.dumps(sorted(m.app.tasks)))"
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=120, check=True
    )
    return {name for name in json.loads(done.stdout) if name in queue_names.ROUTES}


def test_workers_consume_every_queue_and_register_its_tasks() -> None:
    """One worker per queue, whose -A module registers every task routed there; GPU workers take one at a time."""
    services = merged_config([COMPOSE])["services"]
    served = {}
    for name, queue in WORKERS.items():
        cmd = exec_form(final_stage_instructions(services[name])["CMD"])
        assert cmd[:2] == ["celery", "-A"] and cmd[3] == "worker", name
        served[cmd[cmd.index("-Q") + 1]] = name
        assert cmd[cmd.index("-n") + 1] == f"{queue}@%h"
        routed = {task for task, q in queue_names.ROUTES.items() if q == queue}
        assert registered_task_names(cmd[2]) == routed, f"{name}: -A {cmd[2]}"
        if name in GPU_WORKERS:
            assert cmd[cmd.index("--pool") + 1] == "prefork" and cmd[cmd.index("--concurrency") + 1] == "1"
    assert served == {queue: name for name, queue in WORKERS.items()}
    assert sorted(served) == sorted(queue_names.QUEUES)


def test_gateway_command_serves_the_app_on_its_health_port() -> None:
    """The gateway's uvicorn target is a module-level `app`, on the port its health check and compose use."""
    services = merged_config([COMPOSE])["services"]
    final = final_stage_instructions(services["gateway"])
    cmd = exec_form(final["CMD"])
    module, _, attr = cmd[1].partition(":")
    tree = ast.parse((ROOT / Path(*module.split("."))).with_suffix(".py").read_text())
    bound = {
        t.id for n in tree.body if isinstance(n, ast.Assign) for t in n.targets if isinstance(t, ast.Name)
    }
    assert cmd[0] == "uvicorn" and attr in bound
    port = cmd[cmd.index("--port") + 1]
    assert f"http://127.0.0.1:{port}/health" in final["HEALTHCHECK"]
    assert services["gateway"]["ports"] == [f"${{GATEWAY_PORT:-8000}}:{port}"]
