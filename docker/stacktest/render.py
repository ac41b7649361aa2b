"""Make `docker-compose config` output runnable on the test machine: no GPU reservation, no published ports
on the host network.

    docker-compose -f docker-compose.yml -f docker/stack-test.yml config | python render.py > stack.yml

Compose merges `deploy.resources.reservations.devices` and `ports` of an override into the base file's lists
(it never drops an item), so docker/stack-test.yml cannot take the GPU reservations or the published ports
away; this removes them from the fully merged config and keeps everything else as compose wrote it.
"""

from __future__ import annotations

import sys
from typing import Any

import yaml


def without_gpus_and_ports(config: dict[str, Any]) -> dict[str, Any]:
    """`config` with every device reservation dropped, and the ports of host-network services."""
    for service in config.get("services", {}).values():
        reservations = service.get("deploy", {}).get("resources", {}).get("reservations", {})
        reservations.pop("devices", None)
        if service.get("network_mode") == "host":
            # Docker would only warn and discard them: on the host network a service binds its own ports.
            service.pop("ports", None)
    return config


def main() -> int:
    """Read a compose config on stdin, write it without GPU reservations on stdout."""
    config = yaml.safe_load(sys.stdin)
    yaml.safe_dump(without_gpus_and_ports(config), sys.stdout, sort_keys=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
