"""Make the two hosts' `docker-compose config` output runnable as two compose projects on one machine.

    python render_hosts.py main  HOST_NAME                < merged-main.yml  > main.yml
    python render_hosts.py extra HOST_NAME SHARED_VOLUME  < worker-host.yml  > extra.yml

Both: no GPU reservation, no published ports (host network), and each worker named `<queue>@HOST_NAME`: on
the host network every container has the machine's hostname, so Celery's `%h` would name both hosts alike,
and the job records (GET /jobs/{id} `workers`) could not tell them apart.
main: the NFS `data` volume of docker/multi-host.yml becomes a local volume (no NFS server here).
extra: the host network, the test's visibility timeout, and the main project's data volume (external) in
place of the NFS mount: what NFS gives real hosts, one shared /data, without NFS itself.
"""

from __future__ import annotations

import os
import sys
from typing import Any

import yaml

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "stacktest"))

from render import without_gpus_and_ports

WORKER_MODULES = {
    "n2n": "services.n2n.tasks",
    "n2v": "services.n2v.tasks",
    "metrics": "services.metrics.tasks",
}


def worker_command(queue: str, host: str) -> list[str]:
    """The Dockerfile's CMD of the queue's worker, with the host's name in place of `%h`."""
    concurrency = (
        ["--concurrency", "2"] if queue == "metrics" else ["--concurrency", "1", "--pool", "prefork"]
    )
    return ["celery", "-A", WORKER_MODULES[queue], "worker", "-Q", queue, *concurrency, "-n", f"{queue}@{host}",
            "--loglevel", "INFO"]  # fmt: skip


def named_workers(config: dict[str, Any], host: str) -> dict[str, Any]:
    """Every worker service's command names the host."""
    for name, service in config["services"].items():
        if name.startswith("worker-"):
            service["command"] = worker_command(name.removeprefix("worker-"), host)
    return config


def main_host(config: dict[str, Any], host: str) -> dict[str, Any]:
    """The main host: its data volume local, and no HTTPS proxy: the run drives the gateway directly (the
    proxy's own test is docker/stack-test.sh's), so no certificate is needed."""
    config["volumes"]["data"] = {}
    config["services"].pop("proxy", None)
    return named_workers(without_gpus_and_ports(config), host)


def extra_host(config: dict[str, Any], host: str, shared_volume: str) -> dict[str, Any]:
    """A worker host on this machine, sharing the main project's data volume."""
    for service in config["services"].values():
        service["network_mode"] = "host"
        service["environment"]["VISIBILITY_TIMEOUT"] = os.environ.get("STACK_VISIBILITY_TIMEOUT", "120")
    config["volumes"]["data"] = {"external": True, "name": shared_volume}
    return named_workers(without_gpus_and_ports(config), host)


def main(argv: list[str]) -> int:
    """Read a compose config on stdin, write the rendered one on stdout."""
    config = yaml.safe_load(sys.stdin)
    rendered = main_host(config, argv[1]) if argv[0] == "main" else extra_host(config, argv[1], argv[2])
    yaml.safe_dump(rendered, sys.stdout, sort_keys=False)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
