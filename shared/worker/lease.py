"""What a worker's main process does every few seconds while it lives: heartbeats and job leases.

Heartbeat: each queue the worker consumes gets a beat (shared/queue/liveness.py), so /health can say which
queue has no live worker, and on which device each live worker runs its jobs: the step checks that once, in
a thread (shared/worker/device.py; the beats say "checking" meanwhile), and logs it in one line.

Lease (Redis only): Redis hands an unacknowledged message to another worker once VISIBILITY_TIMEOUT has
passed since it was delivered. With a timeout above the longest training, a job whose worker's main process
was killed stayed "running" for that long (12 h). Instead the timeout is short and, while this process lives,
it renews the delivery time of every message it holds (kombu's `unacked_index`, the sorted set its own
`restore_visible` reads), every LEASE_RENEW_S. When the process dies the renewals stop, and the job is
handed out again within one VISIBILITY_TIMEOUT (plus the transport's restore sweep).
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from celery import bootsteps
from celery.worker import state

from shared.queue.liveness import BEAT_INTERVAL_S, Heartbeats, heartbeats
from shared.settings import get_settings
from shared.worker.device import CHECKING, probe

logger = logging.getLogger(__name__)


def renew_leases(channel: Any, requests: list[Any], now: float) -> int:
    """Set the delivery time of every unacknowledged message of `requests` to `now` in the broker's index of
    unacknowledged messages, through `channel` (the consumer's current one: after a reconnection the
    messages' own channel is closed); return how many. A transport without that index (the local queue) has
    no visibility timeout: nothing to renew."""
    index = getattr(channel, "unacked_index_key", None)
    if index is None:
        return 0
    tags = [
        request.message.delivery_tag
        for request in requests
        if getattr(request, "message", None) is not None and not request.message.acknowledged
    ]
    if tags:
        with channel.conn_or_acquire() as client:
            # XX: renew only messages still held; one restored or acknowledged meanwhile stays so.
            client.zadd(index, dict.fromkeys(tags, now), xx=True)
    return len(tags)


class Lease(bootsteps.StartStopStep):
    """Consumer step: beat for each consumed queue and renew the leases of held messages, on a timer."""

    requires = ("celery.worker.consumer.tasks:Tasks",)

    def __init__(self, parent: Any, **kwargs: Any) -> None:
        super().__init__(parent, **kwargs)
        self.timer_ref: Any = None
        self.store: Heartbeats | None = None
        self.failing = False
        self.devices: dict[str, str] = {}

    def start(self, consumer: Any) -> None:
        """Check the device in the background; beat at once, then every BEAT_INTERVAL_S (leases are renewed on
        the same tick)."""
        self.store = heartbeats(get_settings())
        queues = list(consumer.app.amqp.queues.consume_from)
        if not self.devices:  # once per process: a consumer restarted after a broker outage keeps its answer
            self.devices = dict.fromkeys(queues, CHECKING)
            threading.Thread(
                target=self.check_devices, args=(queues,), name="device-check", daemon=True
            ).start()
        self.tick(consumer)
        self.timer_ref = consumer.timer.call_repeatedly(BEAT_INTERVAL_S, self.tick, (consumer,), priority=10)

    def stop(self, consumer: Any) -> None:
        """Stop the timer (the beats then expire by themselves)."""
        if self.timer_ref is not None:
            self.timer_ref.cancel()
            self.timer_ref = None

    def check_devices(self, queues: list[str]) -> None:
        """Find and log the device of each consumed queue's jobs; the next beats carry it."""
        for queue in queues:
            found = probe(queue)
            logger.log(
                logging.WARNING if found.framework and not found.gpus else logging.INFO, "%s", found.line()
            )
            self.devices[queue] = found.device

    def tick(self, consumer: Any) -> None:
        """One beat and one renewal; a failure (the broker is away) is logged once and tried again next tick."""
        try:
            assert self.store is not None
            for queue in consumer.app.amqp.queues.consume_from:
                self.store.beat(queue, consumer.hostname, self.devices.get(queue, CHECKING))
            renew_leases(consumer.connection.default_channel, list(state.requests.values()), time.time())
        except Exception as exc:  # the broker or the data directory is away: the next tick tries again
            if not self.failing:
                logger.warning(
                    "heartbeat and lease renewal failed (%s); retrying every %gs", exc, BEAT_INTERVAL_S
                )
            self.failing = True
            return
        if self.failing:
            logger.info("heartbeat and lease renewal work again")
        self.failing = False
