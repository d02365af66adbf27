"""Event feeds on the embedded default: one uvicorn process, SQLite, the in-memory channel layer.

Publishers must live inside the server process here (nothing else shares its channel
layer), so events are created through the API: `POST /api/v1/deals` publishes
`deal.created` from the request's thread.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from tests.e2e.stack import Stack, embedded_stack
from tests.e2e.test_feeds_distributed import assert_json_error, feed_ids, reconnecting_reader
from tests.events.support import SSEStream, Tenant, make_tenants, stored_events

pytestmark = pytest.mark.e2e

HEARTBEAT = 0.5


@dataclass
class Server:
    stack: Stack
    base: str
    tenants: dict[str, Tenant]


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    with embedded_stack(SSE_HEARTBEAT_SECONDS=str(HEARTBEAT), RATE_LIMIT_PER_MINUTE="100000") as stack:
        base = stack.start_web()
        yield Server(stack, base, make_tenants(stack, "race", "limits", "live"))


def create_deals(base: str, key: str, count: int, tag: str, errors: list[str]) -> None:
    with httpx.Client(headers={"Authorization": f"Bearer {key}"}, timeout=30) as client:
        for n in range(count):
            response = client.post(f"{base}/api/v1/deals", json={"business_name": f"{tag}-{n}"})
            if response.status_code != 201:
                errors.append(f"{response.status_code} {response.text[:200]}")


def test_resume_under_concurrent_in_process_publishers(server: Server) -> None:
    tenant = server.tenants["race"]
    done = threading.Event()
    want: list[int] = []
    result: list[tuple[list[int], int, list[str]]] = []
    reader = threading.Thread(
        target=lambda: result.append(
            reconnecting_reader([server.base], "/api/v1/events", tenant.key, done, want)
        )
    )
    reader.start()
    errors: list[str] = []
    publishers = [
        threading.Thread(target=create_deals, args=(server.base, tenant.key, 60, f"p{n}", errors))
        for n in range(4)
    ]
    for publisher in publishers:
        publisher.start()
    for publisher in publishers:
        publisher.join(timeout=60)
    assert errors == []
    want.extend(row["id"] for row in stored_events(server.base, tenant.key))
    done.set()
    reader.join(timeout=60)
    received, connections, problems = result[0]

    assert problems == []
    assert len(want) == 240
    assert received == want
    assert connections >= 10


def test_live_events_and_heartbeats(server: Server) -> None:
    tenant = server.tenants["live"]
    with SSEStream(f"{server.base}/api/v1/events", tenant.key) as stream:
        errors: list[str] = []
        create_deals(server.base, tenant.key, 3, "live", errors)
        assert errors == []
        frames = stream.events(3, timeout=10)
        assert [f.event for f in frames] == ["deal.created"] * 3
        assert [f.data["business_name"] for f in frames] == ["live-0", "live-1", "live-2"]
        heartbeat = next(f for f in stream.frames() if f.comment == "heartbeat")
        assert heartbeat.event is None
    stored = [row["id"] for row in stored_events(server.base, tenant.key)]
    assert feed_ids(frames) == stored
    # The deal's own feed exists now; the org feed's replay resumes after any id.
    with SSEStream(f"{server.base}/api/v1/events", tenant.key, last_event_id=stored[0]) as resumed:
        assert feed_ids(resumed.events(2, timeout=5)) == stored[1:]


def test_stream_limit_and_slot_release_in_process(server: Server) -> None:
    tenant = server.tenants["limits"]
    streams = [SSEStream(f"{server.base}/api/v1/events", tenant.key) for _ in range(10)]
    try:
        assert [s.status_code for s in streams] == [200] * 10
        assert_json_error(
            httpx.get(f"{server.base}/api/v1/events", headers={"Authorization": f"Bearer {tenant.key}"}),
            429,
            "too_many_streams",
        )
        streams.pop().close()
        deadline = time.monotonic() + 2
        while True:
            retry = SSEStream(f"{server.base}/api/v1/events", tenant.key)
            if retry.status_code == 200:
                streams.append(retry)
                break
            retry.close()
            assert time.monotonic() < deadline, "the slot was not freed"
            time.sleep(0.05)
    finally:
        for s in streams:
            s.close()
