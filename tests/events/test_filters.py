"""`?types=` filters: parsing against the catalogue, the SQL condition and live delivery."""

from __future__ import annotations

import asyncio

import pytest

from events.catalogue import EVENT_FEEDS
from events.filters import (
    BadTypes,
    FilteredSubscriber,
    only_types,
    parse_types,
    subscriber_for,
    with_closing_events,
)
from events.hub import Delivery, Subscriber
from events.models import Event

PROCESSING = {"processing.started", "processing.progress", "processing.completed", "processing.failed"}


def test_it_selects_every_event_without_a_filter() -> None:
    assert parse_types([]) is None


def test_it_expands_wildcards_against_the_catalogue() -> None:
    assert parse_types(["processing.*,deal.decision"]) == frozenset({*PROCESSING, "deal.decision"})
    assert parse_types(["*"]) == frozenset(EVENT_FEEDS)
    assert parse_types(["*.completed"]) == frozenset({"processing.completed", "batch.completed"})


def test_it_joins_repeated_parameters_and_ignores_blanks_and_spaces() -> None:
    assert parse_types(["deal.decision, ", " usage", "deal.decision"]) == frozenset(
        {"deal.decision", "usage"}
    )


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (["deal.decisoin"], "matches no event type"),
        (["nothing.*"], "matches no event type"),
        (["deal decision"], "is not an event type"),
        (["deal.decision;drop"], "is not an event type"),
        ([","], "names no event type"),
        ([""], "names no event type"),
        (["x" * 1001], "longer than"),
        ([",".join(["usage"] * 51)], "more than 50"),
        (["stream.reset"], "matches no event type"),
    ],
)
def test_it_refuses_what_selects_nothing_or_is_malformed(values: list[str], message: str) -> None:
    with pytest.raises(BadTypes, match=message):
        parse_types(values)


def test_a_finite_feed_keeps_its_closing_events() -> None:
    closing = frozenset({"batch.completed"})
    assert with_closing_events(None, closing) is None
    assert with_closing_events(frozenset({"batch.document_failed"}), closing) == {
        "batch.document_failed",
        "batch.completed",
    }


def test_the_sql_condition_selects_the_types() -> None:
    sql = str(only_types(Event.objects.all(), frozenset({"usage", "deal.decision"})).query)
    assert "IN (deal.decision, usage)" in sql
    assert only_types(Event.objects.all(), None).query.where.children == []


async def test_a_filtered_subscriber_takes_only_its_events_and_heartbeats() -> None:
    subscriber = subscriber_for(frozenset({"deal.decision"}), 1, "org")
    assert isinstance(subscriber, FilteredSubscriber)
    assert type(subscriber_for(None, 1, "org")) is Subscriber
    subscriber.offer(Delivery(1, "deal.status_changed", b"a"))
    assert subscriber.queue == []
    subscriber.offer(Delivery(2, "deal.decision", b"b"))
    subscriber.offer(b": heartbeat\n\n")
    items = await asyncio.wait_for(subscriber.wait(), 1)
    assert items == [Delivery(2, "deal.decision", b"b"), b": heartbeat\n\n"]
