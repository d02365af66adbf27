"""A stopping web process ends its streams: the hub closes every subscriber (and any opened
meanwhile), and each SSE body ends with a random `retry:` so clients come back spread out.

The real SIGTERM, on a uvicorn process with 1,000 streams, is tests/e2e/test_graceful_shutdown.py.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import AsyncIterator
from typing import Any

import pytest

from accounts.models import Organization
from events import hub as hub_module
from events.encoding import encode_retry
from events.hub import Hub, Subscriber, get_hub
from events.sse import SHUTDOWN_RETRY_MIN_MILLISECONDS, sse_response

pytestmark = pytest.mark.django_db(transaction=True)


async def test_it_closes_every_stream_and_any_opened_while_stopping(org: Organization) -> None:
    hub = Hub(asyncio.get_running_loop())
    first = Subscriber(org.pk, "org")
    await hub.subscribe(first)
    assert first.closed_reason is None

    hub.drain()
    assert first.closed_reason == "shutdown"
    assert await first.wait() == []  # the stream wakes and ends
    late = Subscriber(org.pk, "org")
    await hub.subscribe(late)
    assert late.closed_reason == "shutdown"


async def body() -> AsyncIterator[bytes]:
    yield b"event: deal.created\ndata: {}\n\n"


async def read(response: Any) -> list[bytes]:
    return [chunk async for chunk in response.streaming_content]


async def test_a_stream_ended_by_a_stopping_process_says_when_to_come_back(settings: Any) -> None:
    settings.SSE_SHUTDOWN_RETRY_MAX_MILLISECONDS = 4000
    get_hub().draining = True
    delays = set()
    for _ in range(50):
        chunks = await read(sse_response(body()))
        assert chunks[:2] == [
            encode_retry(settings.SSE_RETRY_MILLISECONDS),
            b"event: deal.created\ndata: {}\n\n",
        ]
        farewell = chunks[2].decode()
        assert farewell.startswith("retry: ")
        delays.add(int(farewell.removeprefix("retry: ").strip()))
    assert min(delays) >= SHUTDOWN_RETRY_MIN_MILLISECONDS
    assert max(delays) <= 4000
    assert len(delays) > 10  # random, not one instant for everyone


async def test_a_stream_of_a_running_process_ends_without_a_farewell(settings: Any) -> None:
    chunks = await read(sse_response(body()))
    assert chunks == [encode_retry(settings.SSE_RETRY_MILLISECONDS), b"event: deal.created\ndata: {}\n\n"]


async def test_sigterm_drains_the_hubs_and_still_reaches_the_servers_handler(
    org: Organization, monkeypatch: pytest.MonkeyPatch
) -> None:
    received: list[int] = []
    original = signal.signal(signal.SIGTERM, lambda signum, frame: received.append(signum))
    monkeypatch.setattr(hub_module, "_sigterm_hooked", False)
    try:
        hub = get_hub()
        subscriber = Subscriber(org.pk, "org")
        await hub.subscribe(subscriber)  # the first stream hooks the server's handler
        signal.raise_signal(signal.SIGTERM)
        await asyncio.sleep(0.05)  # the drain is scheduled on the hub's loop
        assert hub.draining
        assert subscriber.closed_reason == "shutdown"
        assert received == [signal.SIGTERM]  # the server still stops
    finally:
        signal.signal(signal.SIGTERM, original)
