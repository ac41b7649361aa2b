"""docker/hoststest/render_hosts.py: the two "hosts" of docker/two-host-test.sh, as compose renders them."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
RENDER = ROOT / "docker" / "hoststest" / "render_hosts.py"
ENV = {
    "REDIS_PASSWORD": "p" * 64,
    "REDIS_HOST": "127.0.0.1",
    "REDIS_PORT": "16391",
    "NFS_SERVER": "unused",
    "NFS_EXPORT": "/unused",
    "TAG": "cpu",
    "API_KEY": "k" * 64,
    "STACK_REDIS_PORT": "16391",
    "STACK_GATEWAY_PORT": "18091",
    "STACK_HTTPS_PORT": "18443",
}


def load_render() -> ModuleType:
    """Import docker/hoststest/render_hosts.py by path (docker/ holds build files, not a package)."""
    sys.path.insert(0, str(ROOT / "docker" / "stacktest"))
    spec = importlib.util.spec_from_file_location("hosts_render", RENDER)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


render = load_render()


def config(*files: str) -> dict[str, Any]:
    """`docker-compose config` of `files` with ENV."""
    if shutil.which("docker-compose") is None:
        pytest.skip("no docker-compose on PATH (apt-get install -y docker-compose)")
    args = [item for file in files for item in ("-f", file)]
    done = subprocess.run(
        ["docker-compose", *args, "config"],
        cwd=ROOT,
        env={"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(Path.home()), **ENV},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return yaml.safe_load(done.stdout)


def test_main_host_keeps_the_password_and_a_local_data_volume() -> None:
    main = render.main_host(
        config(
            "docker-compose.yml", "docker/multi-host.yml", "docker/stack-test.yml", "docker/two-host-test.yml"
        ),
        "host-a",
    )
    url = f"redis://:{ENV['REDIS_PASSWORD']}@127.0.0.1:16391/0"
    for name in ("gateway", "worker-n2n", "worker-n2v", "worker-metrics"):
        assert main["services"][name]["environment"]["BROKER_URL"] == url
    assert ENV["REDIS_PASSWORD"] in main["services"]["redis"]["command"]
    assert main["volumes"]["data"] == {}  # no NFS server on the test machine
    assert main["services"]["worker-n2n"]["command"][-3:-2] == ["n2n@host-a"]
    assert "proxy" not in main["services"]  # driven at the gateway: the run needs no certificate


def test_extra_host_joins_the_main_redis_and_shares_its_volume() -> None:
    extra = render.extra_host(config("docker/worker-host.yml"), "host-b", "fdhosts_data")
    assert set(extra["services"]) == {"worker-n2n", "worker-n2v"}
    for queue in ("n2n", "n2v"):
        service = extra["services"][f"worker-{queue}"]
        assert service["environment"]["BROKER_URL"] == f"redis://:{ENV['REDIS_PASSWORD']}@127.0.0.1:16391/0"
        assert service["network_mode"] == "host"
        assert "devices" not in service.get("deploy", {}).get("resources", {}).get("reservations", {})
        assert f"{queue}@host-b" in service["command"]
    assert extra["volumes"]["data"] == {"external": True, "name": "fdhosts_data"}
