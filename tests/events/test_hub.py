"""The hub delivers each organisation's events in seq order: reordering, gap fill, recovery."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from accounts.models import Organization
from events import hub as hub_module
from events import publish
from events.encoding import HEARTBEAT
from events.hub import Delivery, Hub, OrgState, Subscriber, db_call
from events.models import Event
from events.publish import event_message, publish_event

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _no_fan_out(monkeypatch: pytest.MonkeyPatch) -> None:
    # The test plays the channel layer itself by calling Hub.on_message.
    monkeypatch.setattr(publish, "fan_out", lambda event: None)
    monkeypatch.setattr(hub_module, "GAP_WAIT_SECONDS", 0.02)


def store(org: Organization, count: int, event_type: str = "deal.status_changed") -> list[dict[str, Any]]:
    events = [publish_event(org.pk, event_type, {"deal_id": 7, "n": i}) for i in range(count)]
    return [event_message(event) for event in events]


astore = db_call(store)


class Harness:
    """A hub with one active organisation, as if its group subscription had just completed."""

    def __init__(self, organization_id: int, last_seq: int = 0) -> None:
        self.hub = Hub(asyncio.get_running_loop())
        self.state = OrgState(organization_id, ready=self.hub.loop.create_future())
        self.state.ready.set_result(None)
        self.state.last_seq = last_seq
        self.hub.orgs[organization_id] = self.state
        self.organization_id = organization_id

    def subscriber(self, feed: str = "org", key: object = None) -> Subscriber:
        subscriber = Subscriber(self.organization_id, feed, key)
        self.state.buckets.setdefault(subscriber.bucket, set()).add(subscriber)
        self.hub.subscribers.add(subscriber)
        return subscriber

    async def settle(self) -> None:
        """Let any gap-filling task run to completion."""
        for _ in range(200):
            if self.state.gap_task is None and not self.state.pending:
                return
            await asyncio.sleep(0.01)
        raise AssertionError(f"gap never filled: pending={sorted(self.state.pending)}")


def frame_fields(frame: bytes) -> tuple[str, str, dict[str, Any]]:
    id_line, event_line, data_line = frame.decode().removesuffix("\n\n").split("\n")
    return id_line, event_line, json.loads(data_line.removeprefix("data: "))


def received(subscriber: Subscriber) -> list[int]:
    ids = [item.id for item in subscriber.queue if isinstance(item, Delivery)]
    subscriber.queue.clear()
    return ids


async def test_out_of_order_arrivals_are_delivered_in_seq_order(org: Organization) -> None:
    m1, m2, m3 = await astore(org, 3)
    harness = Harness(org.pk)
    sub = harness.subscriber()

    harness.hub.on_message(m3)
    harness.hub.on_message(m2)
    assert received(sub) == []  # seq 1 is still missing: nothing may overtake it
    harness.hub.on_message(m1)
    assert received(sub) == [m1["id"], m2["id"], m3["id"]]
    await harness.settle()
    assert received(sub) == []


async def test_duplicates_and_late_copies_are_dropped(org: Organization) -> None:
    m1, m2 = await astore(org, 2)
    harness = Harness(org.pk)
    sub = harness.subscriber()
    for message in (m1, m1, m2, m1, m2):
        harness.hub.on_message(message)
    assert received(sub) == [m1["id"], m2["id"]]


async def test_a_missing_event_is_read_back_from_the_store(org: Organization) -> None:
    messages = await astore(org, 6)
    harness = Harness(org.pk)
    sub = harness.subscriber()

    # Seqs 2 and 4 never arrive (a lost pub/sub message); 6 arrives before 5.
    for index in (0, 2, 5, 4):
        harness.hub.on_message(messages[index])
    assert received(sub) == [messages[0]["id"]]
    await harness.settle()
    assert received(sub) == [m["id"] for m in messages[1:]]
    # The lost message turning up later changes nothing.
    harness.hub.on_message(messages[1])
    assert received(sub) == []
    assert harness.state.last_seq == 6


async def test_frames_are_the_stored_events(org: Organization) -> None:
    messages = await astore(org, 3)
    harness = Harness(org.pk)
    sub = harness.subscriber()
    harness.hub.on_message(messages[2])
    await harness.settle()  # 1 and 2 come from the store, 3 from the message
    frames = [item.frame for item in sub.queue if isinstance(item, Delivery)]
    # Same lines; PostgreSQL's jsonb may order the keys of a read-back event differently.
    assert [frame_fields(f) for f in frames] == [frame_fields(m["frame"]) for m in messages]


async def test_events_of_an_org_before_activation_are_ignored(org: Organization) -> None:
    messages = await astore(org, 3)
    harness = Harness(org.pk, last_seq=2)  # seqs 1-2 were committed before the subscription
    sub = harness.subscriber()
    for message in messages:
        harness.hub.on_message(message)
    assert received(sub) == [messages[2]["id"]]


async def test_other_orgs_and_other_feeds_get_nothing(org: Organization, other_org: Organization) -> None:
    harness = Harness(org.pk)
    org_feed = harness.subscriber()
    deal_7 = harness.subscriber("deal", 7)
    deal_8 = harness.subscriber("deal", 8)
    job_feed = harness.subscriber("job", "job_1")

    deal_events = await astore(org, 2)
    created = await db_call(publish_event)(org.pk, "deal.created", {"deal_id": 7})
    job_status = await db_call(publish_event)(org.pk, "status", {"job_id": "job_1", "status": "queued"})
    foreign = await astore(other_org, 1)

    for message in [*deal_events, event_message(created), event_message(job_status), *foreign]:
        harness.hub.on_message(message)
    assert received(org_feed) == [deal_events[0]["id"], deal_events[1]["id"], created.id]
    assert received(deal_7) == [deal_events[0]["id"], deal_events[1]["id"]]
    assert received(deal_8) == []
    assert received(job_feed) == [job_status.id]


async def test_a_pruned_hole_is_skipped_instead_of_stalling(org: Organization) -> None:
    messages = await astore(org, 4)
    await db_call(lambda: Event.objects.filter(seq__in=[2, 3]).delete())()
    harness = Harness(org.pk)
    sub = harness.subscriber()
    harness.hub.on_message(messages[0])
    harness.hub.on_message(messages[3])
    await harness.settle()
    assert received(sub) == [messages[0]["id"], messages[3]["id"]]


async def test_the_tick_recovers_a_lost_tail(org: Organization) -> None:
    messages = await astore(org, 3)
    harness = Harness(org.pk)
    sub = harness.subscriber()
    harness.hub.on_message(messages[0])
    # Messages 2 and 3 were lost and nothing later arrives to reveal the gap.
    await harness.hub._check_tails([org.pk])
    assert received(sub) == [m["id"] for m in messages]


async def test_tick_sends_heartbeats_to_idle_streams_only(org: Organization) -> None:
    harness = Harness(org.pk)
    idle = harness.subscriber()
    busy = harness.subscriber("deal", 7)
    idle.last_activity -= 10
    await harness.hub.tick(1.0)
    assert list(idle.queue) == [HEARTBEAT]
    assert list(busy.queue) == []


async def test_a_slow_reader_is_closed_instead_of_buffering(org: Organization, settings: Any) -> None:
    settings.SSE_MAX_QUEUED_EVENTS = 3
    messages = await astore(org, 10)
    harness = Harness(org.pk)
    slow = harness.subscriber()
    fast = harness.subscriber()
    for message in messages:
        harness.hub.on_message(message)
        await fast.wait()
    assert slow.closed_reason == "slow_reader"
    assert len(slow.queue) == 3  # never more than the bound
    assert fast.closed_reason is None
    assert harness.state.last_seq == 10
