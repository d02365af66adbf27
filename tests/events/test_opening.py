"""A stream's opening read on the event loop (one statement) is the ORM's, and survives a lost connection."""

from __future__ import annotations

import asyncio
import time

import psycopg
import pytest
from django.db import connection

from accounts.models import Organization
from events import store
from events.feeds import Feed, Opening, _opening, read_opening
from events.models import Event, OrgEventSequence
from events.publish import publish_event

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="the loop's own read is PostgreSQL's"),
]


def both(feed: Feed, last_event_id: int | None) -> tuple[Opening, Opening]:
    """The opening read on the loop, and as the ORM reads it on a thread."""

    async def on_loop() -> Opening:
        return await read_opening(feed, last_event_id)

    return asyncio.run(on_loop()), _opening(feed, last_event_id)


@pytest.fixture
def published(org: Organization) -> list[Event]:
    events = [publish_event(org.pk, "deal.created", {"deal_id": 1})]
    events.append(publish_event(org.pk, "deal.status_changed", {"deal_id": 7, "status": "review"}))
    events.append(publish_event(org.pk, "processing.started", {"deal_id": 7}))
    events.append(publish_event(org.pk, "deal.created", {"deal_id": 2, "name": "Ünïcode ✓", "amount": 1.5}))
    events.append(publish_event(org.pk, "webhook.endpoint_disabled", {"endpoint_id": 3}))
    return events


@pytest.mark.parametrize(
    ("kind", "key", "types"),
    [
        ("org", None, None),
        ("org", None, frozenset({"deal.created"})),
        ("deal", 7, None),
        ("deal", 7, frozenset({"processing.started", "deal.decision"})),
        ("deal", 8, None),
    ],
)
def test_a_resuming_open_reads_what_the_orm_reads(
    org: Organization, published: list[Event], kind: str, key: object, types: frozenset[str] | None
) -> None:
    feed = Feed(org.pk, kind, key, types=types)
    for position in [published[0].id, published[2].id, published[-1].id]:
        fast, orm = both(feed, position)
        assert fast == orm
        assert fast.plan.after_id == position
        assert fast.plan.reset_reason is None
    first, _ = both(Feed(org.pk, "org"), published[0].id)
    assert [event_id for event_id, _type, _frame in first.first_page or []] == [e.id for e in published[1:]]


def test_positions_that_reset_and_fresh_clients_read_what_the_orm_reads(
    org: Organization, other_org: Organization, published: list[Event]
) -> None:
    feed = Feed(org.pk, "org")
    unknown, orm = both(feed, published[-1].id + 1000)
    assert unknown == orm
    assert unknown.plan.reset_reason == "last_event_id_unknown"
    assert unknown.earliest_id == published[0].id

    OrgEventSequence.objects.filter(organization=org).update(pruned_through_id=published[2].id)
    Event.objects.filter(id__lte=published[2].id).delete()
    too_old, orm = both(feed, published[0].id)
    assert too_old == orm
    assert too_old.plan.reset_reason == "last_event_id_too_old"
    at_mark, orm = both(feed, published[2].id)  # the pruned mark itself is still a known position
    assert at_mark == orm
    assert at_mark.plan.reset_reason is None
    assert [event_id for event_id, _type, _frame in at_mark.first_page or []] == [e.id for e in published[3:]]

    fresh, orm = both(feed, None)
    assert fresh == orm
    assert fresh.plan.after_id is None
    # An organisation that never stored an event: any position is unknown.
    never, orm = both(Feed(other_org.pk, "org"), 5)
    assert never == orm
    assert never.plan.reset_reason == "last_event_id_unknown"


def test_a_terminated_connection_is_replaced_and_the_read_succeeds(
    org: Organization, published: list[Event]
) -> None:
    feed = Feed(org.pk, "org")

    async def scenario() -> tuple[Opening, Opening, int, int]:
        first = await read_opening(feed, published[0].id)
        before = (await store.loop_store().fetch("SELECT pg_backend_pid()", []))[0][0]
        # What a database restart or failover does to an idle pooled session.
        async with await psycopg.AsyncConnection.connect(
            autocommit=True, **store._connection_params()
        ) as admin:
            await admin.execute("SELECT pg_terminate_backend(%s)", [before])
        again = await read_opening(feed, published[0].id)
        after = (await store.loop_store().fetch("SELECT pg_backend_pid()", []))[0][0]
        return first, again, int(before), int(after)

    first, again, before, after = asyncio.run(scenario())
    assert again == first
    assert [event_id for event_id, _type, _frame in again.first_page or []] == [e.id for e in published[1:]]
    assert before != after  # the dead session was dropped, not reused


def test_the_loop_closes_its_connections_when_it_stops(org: Organization, published: list[Event]) -> None:
    async def open_and_count() -> int:
        await read_opening(Feed(org.pk, "org"), published[0].id)
        rows = await store.loop_store().fetch("SELECT pg_backend_pid()", [])
        return int(rows[0][0])

    pid = asyncio.run(open_and_count())
    deadline = time.monotonic() + 5
    with connection.cursor() as cursor:
        while True:  # the server ends the session as soon as it reads the client's goodbye
            cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", [pid])
            if cursor.fetchone()[0] == 0 or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", [pid])
        assert cursor.fetchone()[0] == 0
