"""Catch-up on reconnect: events stored while Redis was down reach open streams as soon as the
web process's subscription is back, not at the next heartbeat tick.

Runs a Redis server of its own (killed and restarted here) and a uvicorn web process with a
heartbeat far longer than the test, so only the reconnect can deliver the missed events.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import httpcore
import httpx
import pytest

from tests.e2e.stack import RedisServer, Stack, distributed_stack
from tests.events.support import SSEStream, stored_events, wait_until

pytestmark = pytest.mark.e2e

HEARTBEAT_SECONDS = 60.0
# From Redis's return to the missed events on the stream; the heartbeat alone would take up to 60 s.
CATCH_UP_BOUND_SECONDS = 5.0


@pytest.fixture
def stack(redis: RedisServer) -> Iterator[Stack]:
    with distributed_stack(
        redis_url=redis.url, SSE_HEARTBEAT_SECONDS=str(HEARTBEAT_SECONDS), RATE_LIMIT_PER_MINUTE="100000"
    ) as stack:
        yield stack


class Recorder:
    """Reads an open stream on a thread, noting when each event arrived."""

    def __init__(self, stream: SSEStream) -> None:
        self.stream = stream
        self.arrivals: list[tuple[float, int]] = []
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        try:
            for frame in self.stream.frames():
                if frame.event is not None:
                    self.arrivals.append((time.monotonic(), int(frame.id or 0)))
        except (httpx.HTTPError, httpcore.ReadError):
            pass  # the test closed the stream

    def ids(self) -> list[int]:
        return [event_id for _, event_id in self.arrivals]


def test_it_delivers_what_was_published_during_an_outage_as_soon_as_redis_returns(
    stack: Stack, redis: RedisServer
) -> None:
    base_url = stack.start_web("uvicorn")
    key = stack.create_key("Reconnect E2E")
    headers = {"Authorization": f"Bearer {key}"}
    with (
        httpx.Client(base_url=base_url, headers=headers, timeout=30) as client,
        SSEStream(f"{base_url}/api/v1/events", key, read_timeout=HEARTBEAT_SECONDS * 2) as stream,
    ):
        assert stream.status_code == 200
        recorder = Recorder(stream)
        assert client.post("/api/v1/deals", json={"business_name": "Before"}).status_code == 201
        wait_until(lambda: len(recorder.ids()) >= 1, timeout=10, message="a live event")
        time.sleep(1)  # past the subscription's own recheck of the store after it opened
        before = len(recorder.ids())

        redis.kill()
        for name in ("During 1", "During 2", "During 3"):
            assert client.post("/api/v1/deals", json={"business_name": name}).status_code == 201
        time.sleep(1)
        assert len(recorder.ids()) == before  # nothing can reach the stream while Redis is away

        redis.start()
        returned = time.monotonic()
        stored = [e["id"] for e in stored_events(base_url, key)]
        wait_until(
            lambda: len(recorder.ids()) >= len(stored), timeout=HEARTBEAT_SECONDS, message="the missed events"
        )
        lag = max(arrived for arrived, _ in recorder.arrivals[before:]) - returned
        print(f"events missed during the outage arrived {lag:.2f} s after Redis returned")
        assert lag < CATCH_UP_BOUND_SECONDS
        assert recorder.ids() == sorted(stored)  # each once, in order
