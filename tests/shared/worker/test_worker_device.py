"""A worker whose framework sees no GPU says so in one log line and in its heartbeats (/health reads them)."""

from __future__ import annotations

import logging
from pathlib import Path
from types import SimpleNamespace

import pytest

from shared.queue.liveness import FileHeartbeats
from shared.worker.device import CHECKING, WorkerDevice, probe
from shared.worker.lease import Lease


def _consumer(queues: list[str]) -> SimpleNamespace:
    """The few attributes of a Celery consumer the lease step reads (a channel without a lease index)."""
    return SimpleNamespace(
        app=SimpleNamespace(amqp=SimpleNamespace(queues=SimpleNamespace(consume_from=queues))),
        hostname="n2n-1@host",
        connection=SimpleNamespace(default_channel=object()),
    )


def test_n2n_worker_with_cuda_hidden_logs_the_cpu_and_beats_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """CUDA_VISIBLE_DEVICES="" hides every GPU from torch: the worker logs one plain line saying its jobs run on
    the CPU, and its heartbeat (what /health lists) says `cpu`, after `checking` while the check ran."""
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    lease = Lease(SimpleNamespace())
    lease.store = FileHeartbeats(tmp_path)
    lease.devices = {"n2n": CHECKING, "metrics": CHECKING}
    lease.tick(_consumer(["n2n", "metrics"]))
    assert lease.store.live_devices()["n2n"] == [CHECKING]

    with caplog.at_level(logging.INFO, logger="shared.worker.lease"):
        lease.check_devices(["n2n", "metrics"])
    lines = [record.getMessage() for record in caplog.records]
    assert len(lines) == 2
    assert lines[0].startswith("n2n worker: no GPU visible to torch (CUDA build: ")
    assert lines[0].endswith("); jobs run on the CPU")
    assert caplog.records[0].levelno == logging.WARNING
    assert lines[1] == "metrics worker: jobs run on the CPU (numpy; no GPU framework)"

    lease.tick(_consumer(["n2n", "metrics"]))
    assert lease.store.live_devices() == {"n2n": ["cpu"], "n2v": [], "metrics": ["cpu"]}
    assert lease.store.live_workers() == {"n2n": 1, "n2v": 0, "metrics": 1}


@pytest.mark.slow
def test_n2v_worker_with_cuda_hidden_says_tensorflow_runs_on_the_cpu(monkeypatch: pytest.MonkeyPatch) -> None:
    """The same check for TensorFlow (seconds: it imports TensorFlow in a child interpreter)."""
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    found = probe("n2v")
    assert found.error is None and found.gpus == [] and found.device == "cpu"
    assert found.line().startswith("n2v worker: no GPU visible to TensorFlow (CUDA build: ")


def test_a_failed_check_is_said_and_recorded_as_unknown(monkeypatch: pytest.MonkeyPatch) -> None:
    """A framework that does not import leaves the device unknown, with the error's last line in the log line."""
    monkeypatch.setattr(
        "shared.worker.device.FRAMEWORKS", {"n2n": ("torch", "raise SystemExit('no torch here')")}
    )
    found = probe("n2n")
    assert found.device == "unknown"
    assert found.line() == "n2n worker: could not check what torch sees (no torch here); device unknown"


def test_a_gpu_worker_names_its_gpu() -> None:
    """With GPUs the record names the first, which jobs use, and how many more there are."""
    found = WorkerDevice(queue="n2n", framework="torch", gpus=["NVIDIA H200", "NVIDIA H200"], cuda_build=True)
    assert found.device == "gpu: NVIDIA H200 (+1 more)"
    assert (
        found.line() == "n2n worker: GPU visible to torch: NVIDIA H200, NVIDIA H200; jobs run on NVIDIA H200"
    )


def test_redis_heartbeats_carry_the_device(tmp_path: Path) -> None:
    """With Redis (several hosts) the beat's value is the device, read back per queue."""
    import redis

    from shared.queue.liveness import RedisHeartbeats
    from tests.e2e.own_redis import OwnRedis

    server = OwnRedis(tmp_path / "redis")
    server.start()
    try:
        store = RedisHeartbeats(redis.Redis.from_url(server.url), prefix="test:")
        store.beat("n2n", "n2n-1@host", "cpu")
        store.beat("n2v", "n2v-1@gpu-host", "gpu: NVIDIA H200")
        assert store.live_devices() == {"n2n": ["cpu"], "n2v": ["gpu: NVIDIA H200"], "metrics": []}
        assert store.live_workers() == {"n2n": 1, "n2v": 1, "metrics": 0}
    finally:
        server.stop()
