"""`publish_event`: stored with a gapless per-org seq, routed to the catalogue's feeds."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from django.db import transaction

from accounts.models import Organization
from core.context import request_id_var
from events import publish
from events.catalogue import EVENT_FEEDS, feeds_of
from events.encoding import encode_event
from events.models import Event, OrgEventSequence
from events.publish import event_message, publish_event

ROUTING_DATA = {"deal_id": 5, "batch_id": "batch_01", "job_id": "job_01"}

# The contract's table (spec §8), written out independently of events.catalogue.
CONTRACT_FEEDS = {
    "deal.created": {"org"},
    "processing.started": {"deal", "org"},
    "processing.progress": {"deal", "org"},
    "processing.completed": {"deal", "org"},
    "processing.failed": {"deal", "org"},
    "deal.status_changed": {"deal", "org"},
    "proposed_change": {"deal", "org"},
    "deal.decision": {"deal", "org"},
    "proposal.rejected": {"deal", "org"},
    "deal.rescored": {"deal", "org"},
    "statement.removed": {"deal", "org"},
    "webhook.endpoint_disabled": {"org"},
    "batch.document_processed": {"batch", "org"},
    "batch.document_failed": {"batch", "org"},
    "batch.completed": {"batch", "org"},
    "status": {"job"},
    "progress": {"job"},
    "completed": {"job"},
    "failed": {"job"},
    "canceled": {"job"},
    "usage": {"job"},
}


@pytest.fixture
def fanned_out(monkeypatch: pytest.MonkeyPatch) -> list[Event]:
    """Capture fan-outs instead of sending them to the channel layer."""
    sent: list[Event] = []
    monkeypatch.setattr(publish, "fan_out", sent.append)
    return sent


def feeds_containing(event: Event) -> set[str]:
    org_id = event.organization_id
    found = set()
    for feed, key in (("org", None), ("deal", 5), ("batch", "batch_01"), ("job", "job_01")):
        if Event.objects.for_feed(org_id, feed, key).filter(pk=event.pk).exists():
            found.add(feed)
    return found


def test_catalogue_matches_the_contract() -> None:
    assert {name: set(feeds) for name, feeds in EVENT_FEEDS.items()} == CONTRACT_FEEDS


@pytest.mark.django_db
@pytest.mark.parametrize("event_type", sorted(CONTRACT_FEEDS))
def test_each_type_lands_in_its_feeds_only(
    event_type: str, org: Organization, fanned_out: list[Event], django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        event = publish_event(org.pk, event_type, dict(ROUTING_DATA))
    assert feeds_containing(event) == CONTRACT_FEEDS[event_type]
    # The live message routes exactly like the stored row.
    message = event_message(event)
    assert bool(message["in_org"]) == ("org" in CONTRACT_FEEDS[event_type])
    assert (message["deal_id"] is not None) == ("deal" in CONTRACT_FEEDS[event_type])
    assert bool(message["batch_id"]) == ("batch" in CONTRACT_FEEDS[event_type])
    assert bool(message["job_id"]) == ("job" in CONTRACT_FEEDS[event_type])
    assert fanned_out == [event]


@pytest.mark.django_db
def test_unknown_types_are_a_programming_error(org: Organization, fanned_out: list[Event]) -> None:
    with pytest.raises(ValueError, match="Unknown event type"):
        publish_event(org.pk, "deal.exploded", {})
    with pytest.raises(ValueError, match="Unknown event type"):
        feeds_of("stream.reset")  # a stream-level notice, never stored
    assert not Event.objects.exists()


@pytest.mark.django_db
def test_data_gets_type_timestamp_and_request_id(org: Organization, fanned_out: list[Event]) -> None:
    token = request_id_var.set("req_abc")
    try:
        event = publish_event(org.pk, "deal.created", {"deal_id": 1, "business_name": "A", "created_by": "x"})
    finally:
        request_id_var.reset(token)
    event.refresh_from_db()
    assert event.data["type"] == "deal.created"
    assert event.data["request_id"] == "req_abc" == event.request_id
    assert datetime.fromisoformat(event.data["timestamp"]) == event.created_at
    assert event.data["business_name"] == "A"
    # The live frame is the stored event, encoded with its id.
    assert event_message(event)["frame"] == encode_event("deal.created", event.data, event_id=event.id)


@pytest.mark.django_db
def test_explicit_request_id_wins_and_none_is_left_out(org: Organization, fanned_out: list[Event]) -> None:
    explicit = publish_event(
        org.pk, "status", {"job_id": "job_1", "status": "queued"}, request_id="req_given"
    )
    bare = publish_event(org.pk, "status", {"job_id": "job_1", "status": "started"})
    assert explicit.data["request_id"] == "req_given"
    assert "request_id" not in bare.data
    assert bare.request_id == ""


@pytest.mark.django_db
def test_seq_is_gapless_per_org_and_follows_ids(
    org: Organization, other_org: Organization, fanned_out: list[Event]
) -> None:
    for i in range(5):
        publish_event(org.pk, "deal.created", {"deal_id": i})
        publish_event(other_org.pk, "deal.created", {"deal_id": i})
    for organization in (org, other_org):
        rows = list(Event.objects.filter(organization=organization).values_list("id", "seq"))
        assert [seq for _, seq in rows] == [1, 2, 3, 4, 5]
        assert [i for i, _ in rows] == sorted(i for i, _ in rows)
        assert OrgEventSequence.objects.get(organization=organization).last_seq == 5


@pytest.mark.django_db(transaction=True)
def test_rolled_back_publish_leaves_no_hole_and_sends_nothing(
    org: Organization, fanned_out: list[Event]
) -> None:
    publish_event(org.pk, "deal.created", {"deal_id": 1})

    class Boom(Exception):
        pass

    def publish_then_fail() -> None:
        with transaction.atomic():
            publish_event(org.pk, "deal.created", {"deal_id": 2})
            raise Boom

    with pytest.raises(Boom):
        publish_then_fail()
    publish_event(org.pk, "deal.created", {"deal_id": 3})
    assert list(Event.objects.filter(organization=org).values_list("seq", flat=True)) == [1, 2]
    assert [e.data["deal_id"] for e in fanned_out] == [1, 3]


@pytest.mark.django_db
def test_fan_out_waits_for_the_outer_commit(
    org: Organization, fanned_out: list[Event], django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        publish_event(org.pk, "deal.created", {"deal_id": 1})
        assert fanned_out == []
    assert len(callbacks) == 1
    assert len(fanned_out) == 1
