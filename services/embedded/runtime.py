"""The whole service on one machine: the gateway plus the n2n, n2v and metrics workers as local processes.

With no BROKER_URL the queue and the result store are files in the data directory (shared/queue/local.py):
no Redis, no Docker, and queued jobs survive a restart. With BROKER_URL (redis://...) the same processes
use Redis. The tasks and the code path are the same either way; only the transport differs.

    run_embedded("127.0.0.1", 8000, Path("data"))         # blocking; Ctrl-C stops everything
    with embedded_url(Path("data")) as base_url: ...       # tests and demos: yields http://127.0.0.1:PORT
    with embedded_service(Path("data")) as service: ...    # the same, with the processes (pids, logs)
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from services.embedded.supervisor import WorkerSupervisor
from shared.logs import configure_logging
from shared.methods.registry import registry
from shared.queue.app import ensure_local_queue, queue_dir, uses_local_queue
from shared.queue.local import recover_claimed
from shared.queue.names import QUEUE_METRICS
from shared.queue.names import queues as all_queues
from shared.settings import Settings

REPO_ROOT = Path(__file__).resolve().parents[2]
METRICS_WORKER = "services.metrics.tasks"


def worker_module(queue: str) -> str:
    """The module a queue's worker runs: a method's tasks module (its registry entry), or the metrics one."""
    return METRICS_WORKER if queue == QUEUE_METRICS else registry()[queue].tasks_module


STOP_GRACE_S = 30.0
"""How long a worker gets to requeue its job and exit after SIGQUIT before it is killed."""


def worker_command(queue: str, *, local: bool, name: str | None = None) -> list[str]:
    """The Celery command of one worker: one job at a time, in a forked child the parent can replace.

    prefork (not solo) so a killed child is noticed and its job requeued (task_reject_on_worker_lost),
    and so DELETE /jobs can terminate a running job.
    """
    command = [
        sys.executable, "-m", "celery", "-A", worker_module(queue), "worker",
        "-Q", queue, "--concurrency", "1", "--pool", "prefork",
        "-n", name or f"{queue}-{uuid.uuid4().hex[:8]}@%h", "--loglevel", "INFO",
    ]  # fmt: skip
    if local:
        # Gossip, mingle and heartbeats are broadcasts; over files they only pile up messages nobody reads.
        command += ["--without-gossip", "--without-mingle", "--without-heartbeat"]
    return command


def gateway_command(host: str, port: int) -> list[str]:
    """The uvicorn command of the gateway."""
    return [sys.executable, "-m", "uvicorn", "services.gateway.app:app", "--host", host, "--port", str(port)]


def service_environment(data_dir: Path, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of every process: this one's, DATA_DIR made absolute, the repo importable."""
    env = dict(os.environ)
    env.update(extra or {})
    env["DATA_DIR"] = str(Path(data_dir).resolve())
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO_ROOT), env.get("PYTHONPATH", "")) if p)
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env


def prepare_data_dir(env: Mapping[str, str]) -> Settings:
    """Create the data directory's folders and, for the local queue, requeue jobs of workers that died."""
    settings = Settings(**{k: v for k, v in env.items() if k in Settings.model_fields})  # type: ignore[arg-type]
    for sub in ("jobs", "models"):
        (Path(settings.DATA_DIR) / sub).mkdir(parents=True, exist_ok=True)
    if uses_local_queue(settings):
        ensure_local_queue(settings)
        recover_claimed(queue_dir(settings) / "messages")
    return settings


@dataclass
class ServiceProcesses:
    """The processes of a running embedded service (workers restarted by `supervisor` when they die)."""

    base_url: str
    data_dir: Path
    supervisor: WorkerSupervisor
    gateway: subprocess.Popen[bytes] | None = None

    @property
    def workers(self) -> dict[str, subprocess.Popen[bytes]]:
        """The current process of each worker."""
        return self.supervisor.processes()

    def worker_children(self, queue: str) -> list[int]:
        """Process ids of a worker's pool children (the processes that run jobs)."""
        pid = self.workers[queue].pid
        children = Path(f"/proc/{pid}/task/{pid}/children")
        return [int(p) for p in children.read_text().split()] if children.exists() else []


PR_SET_PDEATHSIG = 1
"""prctl(2) option: the signal the kernel sends a process when the thread that started it dies."""
_LIBC = ctypes.CDLL(None, use_errno=True) if sys.platform.startswith("linux") else None


def die_with_parent(sig: signal.Signals) -> Callable[[], None] | None:
    """A `preexec_fn` that has the kernel send `sig` to the child when its launcher dies, however it dies.

    The processes run in sessions of their own, so a launcher killed with SIGKILL (or by the OOM killer) took
    none of them along: its workers went on, under pid 1, consuming the queue of a service that no longer
    existed. Linux only (elsewhere: None). The signal is tied to the launching thread: the supervisor's, for
    a restarted worker, which ends only when the service stops them all anyway.
    """
    if _LIBC is None:
        return None
    prctl, parent, number = _LIBC.prctl, os.getpid(), int(sig)

    def arm() -> None:  # in the child, between fork and exec: nothing that allocates or takes a lock
        prctl(PR_SET_PDEATHSIG, number, 0, 0, 0)
        if os.getppid() != parent:  # the launcher died before the signal was armed
            os.kill(os.getpid(), sig)

    return arm


def start_process(command: list[str], env: Mapping[str, str], log: Path | None) -> subprocess.Popen[bytes]:
    """Start a service process in its own session (a terminal's Ctrl-C reaches only the launcher), set to
    stop when the launcher dies: SIGQUIT for a worker (Celery's cold shutdown: its running job goes back in
    the queue, as on a normal stop), SIGTERM for the gateway."""
    out: IO[bytes] | None = log.open("ab") if log is not None else None
    sig = signal.SIGQUIT if "celery" in command else signal.SIGTERM
    try:
        return subprocess.Popen(
            command,
            env=dict(env),
            cwd=REPO_ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=die_with_parent(sig),  # one prctl call: nothing that could deadlock after a fork
        )
    finally:
        if out is not None:
            out.close()


def stop_processes(processes: list[subprocess.Popen[bytes]], grace_s: float = STOP_GRACE_S) -> None:
    """Stop workers and gateway: SIGQUIT (Celery's cold shutdown requeues the running job), then SIGKILL."""
    for process in processes:
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGQUIT if _is_worker(process) else signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    for process in processes:
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def _is_worker(process: subprocess.Popen[bytes]) -> bool:
    """Whether a process is a Celery worker (rather than the gateway)."""
    return isinstance(process.args, list) and "celery" in process.args


def wait_until_healthy(base_url: str, gateway: subprocess.Popen[bytes], timeout_s: float = 60.0) -> None:
    """Poll /health until the gateway answers; fail early if it exits."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if gateway.poll() is not None:
            raise RuntimeError(f"the gateway exited with code {gateway.returncode} before it answered")
        with (
            contextlib.suppress(urllib.error.URLError, ConnectionError, TimeoutError),
            urllib.request.urlopen(f"{base_url}/health", timeout=2) as response,
        ):
            if response.status == 200:
                return
        time.sleep(0.2)
    raise RuntimeError(f"the gateway did not answer {base_url}/health within {timeout_s:g} s")


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def embedded_service(
    data_dir: Path,
    *,
    host: str = "127.0.0.1",
    port: int | None = None,
    env: Mapping[str, str] | None = None,
    queues: tuple[str, ...] | None = None,
) -> Iterator[ServiceProcesses]:
    """Start the gateway and the workers of `queues` (default: every method's and metrics) as subprocesses;
    yield them once /health answers.

    `env` adds to this process's environment (e.g. BROKER_URL for Redis). Logs go to DATA_DIR/logs/.
    Everything is stopped on exit, whatever happened.
    """
    full_env = service_environment(data_dir, env)
    settings = prepare_data_dir(full_env)
    local = uses_local_queue(settings)
    port = port or free_port(host)
    log_dir = Path(full_env["DATA_DIR"]) / "logs"  # one file per process: worker-n2n.log, gateway.log, ...
    log_dir.mkdir(parents=True, exist_ok=True)
    supervisor = make_supervisor(full_env, settings)
    service = ServiceProcesses(
        base_url=f"http://{host}:{port}", data_dir=Path(full_env["DATA_DIR"]), supervisor=supervisor
    )
    try:
        for queue in queues if queues is not None else all_queues():
            supervisor.add(queue, worker_command(queue, local=local), log_dir / f"worker-{queue}.log")
        supervisor.run_in_background()
        service.gateway = start_process(gateway_command(host, port), full_env, log_dir / "gateway.log")
        wait_until_healthy(service.base_url, service.gateway)
        yield service
    finally:
        stop_processes([*supervisor.stop(), *([service.gateway] if service.gateway else [])])


@contextlib.contextmanager
def embedded_url(
    data_dir: Path, *, host: str = "127.0.0.1", port: int | None = None, env: Mapping[str, str] | None = None
) -> Iterator[str]:
    """Start the whole service in the background (see `embedded_service`) and yield its base URL."""
    with embedded_service(data_dir, host=host, port=port, env=env) as service:
        yield service.base_url


def run_embedded(host: str = "127.0.0.1", port: int = 8000, data_dir: Path = Path("data")) -> None:
    """Serve on host:port with the three workers until Ctrl-C or SIGTERM (blocking); then stop everything.

    Uses Redis when BROKER_URL is set in the environment, else a queue in `data_dir`. Jobs still queued,
    and a job running at Ctrl-C, are picked up again at the next start.
    """
    import uvicorn

    from services.gateway.app import create_app

    env = service_environment(data_dir)
    settings = prepare_data_dir(env)
    configure_logging(settings)
    local = uses_local_queue(settings)
    supervisor = make_supervisor(env, settings)
    try:
        for queue in all_queues():
            supervisor.add(queue, worker_command(queue, local=local), None)
        supervisor.run_in_background()
        with stop_on_sigterm():
            uvicorn.run(create_app(settings), host=host, port=port, log_level="info")
    finally:
        stop_processes(supervisor.stop())


@contextlib.contextmanager
def stop_on_sigterm() -> Iterator[None]:
    """Make SIGTERM (docker stop, systemd, kill) end the service as Ctrl-C does, with the workers.

    uvicorn catches SIGTERM, shuts down, then raises the signal again under the handler that was there
    before: the default one ends the process at once, skipping the `finally` that stops the workers (they
    run in sessions of their own, so nothing else stops them). This handler turns it into SystemExit.
    """

    def stop(signum: int, _frame: object) -> None:
        raise SystemExit(128 + signum)

    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers can only be set from the main thread
        return
    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def make_supervisor(env: Mapping[str, str], settings: Settings) -> WorkerSupervisor:
    """The supervisor of this service's workers (requeueing a dead local worker's claimed messages)."""

    def recover() -> int:
        return recover_claimed(queue_dir(settings) / "messages") if uses_local_queue(settings) else 0

    return WorkerSupervisor(env=env, start=start_process, recover=recover)
