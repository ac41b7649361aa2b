"""Container health checks, run by each image's HEALTHCHECK: exit 0 when healthy, 1 (with a reason) when not.

    python docker/healthcheck.py http URL   the gateway: URL answers 2xx within the timeout; a URL that is
                                            a bare path (/health) is asked on 127.0.0.1 at UVICORN_PORT
    python docker/healthcheck.py worker     a Celery worker: its broker (BROKER_URL) answers a Redis PING

Why not `celery inspect ping` for workers: a GPU worker busy with a long training may not answer the
remote-control broadcast in time, so every long training would mark the container unhealthy.
The worker process itself is the container's main process: when it dies the container stops and its
restart policy applies, so the broker is what is left to check.
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request

TIMEOUT_S = 4.0
DEFAULT_PORT = "8000"
"""The gateway's port when UVICORN_PORT is not set (the image sets it; uvicorn reads it)."""


def local_url(url_or_path: str) -> str:
    """`url_or_path` itself, or for a bare path the gateway's own URL on loopback at UVICORN_PORT."""
    if not url_or_path.startswith("/"):
        return url_or_path
    return f"http://127.0.0.1:{os.environ.get('UVICORN_PORT', DEFAULT_PORT)}{url_or_path}"


def check_http(url: str, timeout_s: float = TIMEOUT_S) -> str | None:
    """None when `url` answers 2xx, else the reason it is unhealthy."""
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as response:
            status = int(response.status)
    except urllib.error.HTTPError as exc:
        return f"{url} answered HTTP {exc.code}"
    except (OSError, ValueError) as exc:
        return f"{url} unreachable: {exc}"
    return None if 200 <= status < 300 else f"{url} answered HTTP {status}"


def check_broker(broker_url: str, timeout_s: float = TIMEOUT_S) -> str | None:
    """None when a Redis broker answers PING (or the broker is not Redis), else the reason."""
    if not broker_url.startswith(("redis://", "rediss://")):
        # No Redis: the queue lives in DATA_DIR (shared/queue/local.py), nothing remote to reach.
        return None
    import redis  # only the worker images have it; the gateway check must not need it

    try:
        client = redis.Redis.from_url(broker_url, socket_timeout=timeout_s, socket_connect_timeout=timeout_s)
        client.ping()
    except redis.RedisError as exc:
        return f"broker unreachable: {exc}"
    return None


def main(argv: list[str]) -> int:
    """Run the check named by argv[0]; print why when unhealthy."""
    if argv[:1] == ["http"] and len(argv) == 2:
        reason = check_http(local_url(argv[1]))
    elif argv == ["worker"]:
        reason = check_broker(os.environ.get("BROKER_URL", ""))
    else:
        print("usage: healthcheck.py http URL|/PATH | worker", file=sys.stderr)
        return 2
    if reason is not None:
        print(f"unhealthy: {reason}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
