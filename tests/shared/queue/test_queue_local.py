"""The local (no Redis) queue: FIFO, one consumer per message, and no message lost to a dead worker."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from kombu import Connection

from shared.queue.app import ensure_local_queue, make_celery, queue_dir
from shared.queue.local import claimant, recover_claimed
from shared.settings import Settings


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings with no broker: the queue lives under tmp_path."""
    settings = Settings(DATA_DIR=tmp_path, BROKER_URL="")
    ensure_local_queue(settings)
    return settings


@pytest.fixture
def connect(settings: Settings) -> Iterator[object]:
    """Opens kombu connections over the app's local transport; closes them all at the end."""
    app = make_celery(settings)
    opened: list[Connection] = []

    def open_connection() -> Connection:
        connection = app.connection_for_write()
        opened.append(connection)
        return connection

    yield open_connection
    for connection in opened:
        connection.release()


def _messages(settings: Settings) -> list[str]:
    """Message files waiting in the queue folder."""
    return sorted(p.name for p in (queue_dir(settings) / "messages").glob("*.msg"))


def test_messages_are_consumed_in_order_and_once(settings: Settings, connect):
    """Two producers' messages come out first-in first-out; a second consumer never sees a taken one."""
    first, second = connect(), connect()
    for i in range(3):
        (first if i % 2 else second).SimpleQueue("n2n").put({"i": i})
    consumer_a, consumer_b = connect().SimpleQueue("n2n"), connect().SimpleQueue("n2n")
    got = []
    for consumer in (consumer_a, consumer_b, consumer_a):
        message = consumer.get(timeout=2)
        got.append(message.payload["i"])
        message.ack()
    assert got == [0, 1, 2]
    assert _messages(settings) == []
    assert list((queue_dir(settings) / "messages" / "claimed").iterdir()) == []


def test_an_unacknowledged_message_is_restored_when_its_consumer_closes(settings: Settings, connect):
    """A worker that stops mid-job (cold shutdown) puts its job back in the queue."""
    connect().SimpleQueue("n2v").put({"job": 1})
    consumer_connection = connect()
    message = consumer_connection.SimpleQueue("n2v").get(timeout=2)
    assert message.payload == {"job": 1} and _messages(settings) == []
    consumer_connection.release()
    assert len(_messages(settings)) == 1
    assert connect().SimpleQueue("n2v").get(timeout=2).payload == {"job": 1}


def test_messages_claimed_by_a_dead_process_are_recovered(settings: Settings):
    """A claimed message whose process is gone (SIGKILL) goes back to the queue; a live claim stays."""
    done = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    dead_pid = int(done.stdout)
    claimed = queue_dir(settings) / "messages" / "claimed"
    (claimed / f"{dead_pid}-0001_a.n2n.msg").write_text("{}")
    (claimed / f"{os.getpid()}-0002_b.n2n.msg").write_text("{}")
    assert recover_claimed(queue_dir(settings) / "messages") == 1
    assert _messages(settings) == ["0001_a.n2n.msg"]
    assert [p.name for p in claimed.iterdir()] == [f"{os.getpid()}-0002_b.n2n.msg"]


def test_a_claim_is_judged_by_process_id_and_start_time(settings: Settings):
    """A live process with a dead claimant's id (ids are reused) does not keep its message; the claimant does."""
    me = claimant()
    pid, _, started = me.partition("@")
    assert int(pid) == os.getpid() and started.isdigit()
    claimed = queue_dir(settings) / "messages" / "claimed"
    (claimed / f"{pid}@{int(started) - 5000}-0001_a.n2n.msg").write_text("{}")  # same id, older process
    (claimed / f"{me}-0002_b.n2n.msg").write_text("{}")
    assert recover_claimed(queue_dir(settings) / "messages") == 1
    assert _messages(settings) == ["0001_a.n2n.msg"]
    assert [p.name for p in claimed.iterdir()] == [f"{me}-0002_b.n2n.msg"]


def test_a_worker_claims_under_its_id_and_start_time(settings: Settings, connect):
    """The claimed file of a fetched message names this process and its start time."""
    # A queue name no other test declares: kombu keeps exchange bindings per process, across data folders.
    connect().SimpleQueue("claim-test").put({"job": 2})
    message = connect().SimpleQueue("claim-test").get(timeout=5)
    [claimed] = (queue_dir(settings) / "messages" / "claimed").iterdir()
    assert claimed.name.startswith(f"{claimant()}-") and message.payload == {"job": 2}
