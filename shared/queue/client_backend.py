"""The result store as the gateway uses it: it reads and forgets states, and never waits for one.

Celery's Redis result store subscribes to a pub/sub channel for every task it sends, so that a caller can
block on `.get()`. The gateway never does, and the subscription costs it twice: one channel per job sent,
for the life of the process, and a publish made while Redis is down breaks the subscriber for good ("Retry
limit exceeded ... the Celery application must be restarted": every later POST answered 500).
"""

from __future__ import annotations

from typing import Any

from celery.backends.redis import RedisBackend


class SendOnlyRedisBackend(RedisBackend):
    """A Redis result store that never subscribes to the results of the tasks it sends."""

    def on_task_call(self, producer: Any, task_id: str) -> None:
        """Send without subscribing: nobody here waits on the result."""
