"""The hub end to end inside one process: the embedded in-memory channel layer, real publishes."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from channels.layers import channel_layers

from accounts.models import Organization
from events import publish
from events.hub import Delivery, Hub, Subscriber, db_call
from events.publish import publish_event

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def in_memory_layer(settings: Any) -> None:
    settings.DISTRIBUTED = False
    settings.SSE_HEARTBEAT_SECONDS = 60  # ticks are driven by the test
    settings.CHANNEL_LAYERS = {
        "default": {"BACKEND": "channels.layers.InMemoryChannelLayer", "CONFIG": {"group_expiry": 1}}
    }
    channel_layers.backends.clear()


async def received(subscriber: Subscriber, count: int, timeout: float = 2.0) -> list[Delivery]:
    found: list[Delivery] = []
    deadline = time.monotonic() + timeout
    while len(found) < count and time.monotonic() < deadline:
        try:
            items = await asyncio.wait_for(subscriber.wait(), timeout=max(0.01, deadline - time.monotonic()))
        except TimeoutError:
            break
        found += [item for item in items if isinstance(item, Delivery)]
    return found


async def publish_some(org: Organization, count: int) -> list[int]:
    def run() -> list[int]:
        return [publish_event(org.pk, "deal.created", {"deal_id": n}).id for n in range(count)]

    return await db_call(run)()


async def test_published_events_reach_a_subscriber_through_the_layer(
    org: Organization, in_memory_layer: None
) -> None:
    hub = Hub(asyncio.get_running_loop())
    subscriber = Subscriber(org.pk, "org")
    await hub.subscribe(subscriber)
    try:
        ids = await publish_some(org, 5)
        assert [d.id for d in await received(subscriber, 5)] == ids
    finally:
        hub.unsubscribe(subscriber)
        for task in hub._tasks:
            task.cancel()
        publish.register_hub_loop(None)


async def test_group_membership_outlives_the_layers_group_expiry(
    org: Organization, in_memory_layer: None
) -> None:
    hub = Hub(asyncio.get_running_loop())
    subscriber = Subscriber(org.pk, "org")
    await hub.subscribe(subscriber)
    try:
        await asyncio.sleep(2.1)  # past group_expiry (1 s here, a day by default)
        await hub.tick(60)
        ids = await publish_some(org, 2)
        # Delivered live, well before any tick could have recovered them from the store.
        assert [d.id for d in await received(subscriber, 2, timeout=1.0)] == ids
    finally:
        hub.unsubscribe(subscriber)
        for task in hub._tasks:
            task.cancel()
        publish.register_hub_loop(None)
