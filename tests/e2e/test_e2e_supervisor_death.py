"""`fetal-denoise serve` killed with SIGKILL takes its workers along (the parent-death signal).

Its workers run in sessions of their own (a terminal's Ctrl-C must reach only `serve`), so before, a `serve`
killed by SIGKILL or the OOM killer left them running under pid 1, consuming the queue of a service that no
longer existed.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest

from services.embedded.runtime import REPO_ROOT, free_port

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def _children(pid: int) -> list[int]:
    """The child processes of `pid` (every thread's: the supervisor restarts workers from its own thread)."""
    children: list[int] = []
    with contextlib.suppress(FileNotFoundError, ProcessLookupError):
        for task in Path(f"/proc/{pid}/task").iterdir():
            with contextlib.suppress(FileNotFoundError):
                children += [int(child) for child in (task / "children").read_text().split()]
    return children


def _alive(pid: int) -> bool:
    """Whether `pid` still runs (a zombie nobody reaped has exited)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _wait_for(what: str, condition: Callable[[], bool], timeout_s: float) -> None:
    """Poll `condition` until true; fail naming `what` after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout_s:g} s: {what}")
        time.sleep(0.2)


def _healthy(base_url: str) -> bool:
    """Whether the gateway answers /health."""
    with (
        contextlib.suppress(urllib.error.URLError, ConnectionError, TimeoutError),
        urllib.request.urlopen(f"{base_url}/health", timeout=2) as response,
    ):
        return response.status == 200
    return False


def test_the_workers_exit_when_serve_is_killed(tmp_path: Path):
    """SIGKILL of `serve`: its three workers and their pool children are gone within seconds."""
    port = free_port()
    env = {**os.environ, "BROKER_URL": "", "API_KEY": "", "PYTHONPATH": str(REPO_ROOT)}
    command = [
        sys.executable,
        "-m",
        "cli.main",
        "serve",
        "--port",
        str(port),
        "--data-dir",
        str(tmp_path / "data"),
    ]
    with (tmp_path / "serve.log").open("wb") as log:
        serve = subprocess.Popen(
            command, cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    tree: list[int] = []
    try:
        _wait_for("serve answers /health", lambda: _healthy(f"http://127.0.0.1:{port}"), 180)
        _wait_for("three workers", lambda: len(_children(serve.pid)) == 3, 60)
        workers = _children(serve.pid)
        # Each worker's pool child (the process that runs jobs) is up once the worker has started.
        _wait_for("the workers' pool children", lambda: all(_children(pid) for pid in workers), 180)
        tree = workers + [child for pid in workers for child in _children(pid)]

        os.kill(serve.pid, signal.SIGKILL)
        serve.wait()
        started = time.monotonic()
        _wait_for("every worker process gone", lambda: not any(_alive(pid) for pid in tree), 30)
        print(f"{len(tree)} worker processes gone {time.monotonic() - started:.1f} s after SIGKILL of serve")
    finally:
        for pid in [serve.pid, *tree]:  # only the processes this test started
            if _alive(pid):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            serve.wait(timeout=5)
