"""Retention pruning, and how streams resume around it and around finished work."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import Organization
from events import publish
from events.feeds import _plan, resolve_feed
from events.models import Event, OrgEventSequence
from events.publish import publish_event
from events.retention import prune_events
from jobs.models import Job

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_fan_out(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(publish, "fan_out", lambda event: None)


def age(event: Event, days: float) -> None:
    Event.objects.filter(pk=event.pk).update(created_at=timezone.now() - timedelta(days=days))


def test_it_prunes_expired_events_and_remembers_the_mark(
    org: Organization, other_org: Organization, settings: object
) -> None:
    old = [publish_event(org.pk, "deal.created", {"deal_id": i}) for i in range(3)]
    kept = [publish_event(org.pk, "deal.created", {"deal_id": i}) for i in range(2)]
    foreign = publish_event(other_org.pk, "deal.created", {"deal_id": 1})
    for event in old:
        age(event, 8)

    assert prune_events() == 3

    assert list(Event.objects.filter(organization=org).values_list("id", flat=True)) == [e.id for e in kept]
    assert Event.objects.filter(pk=foreign.pk).exists()
    assert OrgEventSequence.objects.get(organization=org).pruned_through_id == old[-1].id
    assert OrgEventSequence.objects.get(organization=other_org).pruned_through_id == 0
    # Nothing left to prune: a second run changes nothing.
    assert prune_events() == 0


def test_a_position_below_the_mark_resets(org: Organization) -> None:
    old = [publish_event(org.pk, "deal.created", {"deal_id": i}) for i in range(3)]
    kept = publish_event(org.pk, "deal.created", {"deal_id": 9})
    for event in old:
        age(event, 30)
    prune_events()
    feed = resolve_feed(org.pk, "org", None)
    assert feed is not None

    plan, finished = _plan(feed, old[0].id)
    assert plan.reset_reason == "last_event_id_too_old"
    assert plan.after_id == 0
    assert not finished
    plan, _ = _plan(feed, old[-1].id)  # the newest pruned event: nothing after it was lost
    assert plan.reset_reason is None
    assert plan.after_id == old[-1].id
    plan, _ = _plan(feed, kept.id + 1000)
    assert plan.reset_reason == "last_event_id_unknown"


def finished_job(org: Organization, *, billable: bool) -> tuple[Job, list[Event]]:
    job = Job.objects.create(organization=org, type="valuation", status="completed", billable=billable)
    events = [
        publish_event(org.pk, "status", {"job_id": job.pk, "status": "started"}),
        publish_event(org.pk, "progress", {"job_id": job.pk, "progress": 0.5, "message": "half"}),
        publish_event(org.pk, "completed", {"job_id": job.pk, "status": "completed", "results": {}}),
    ]
    if billable:
        events.append(
            publish_event(
                org.pk,
                "usage",
                {
                    "job_id": job.pk,
                    "monthly_used": 1,
                    "monthly_limit": 500,
                    "monthly_remaining": 499,
                    "was_billable": True,
                    "subscription_tier": "free",
                },
            )
        )
    return job, events


@pytest.mark.parametrize("billable", [True, False])
def test_finished_job_feed_is_complete_only_at_its_last_event(org: Organization, billable: bool) -> None:
    job, events = finished_job(org, billable=billable)
    feed = resolve_feed(org.pk, "job", job.pk)
    assert feed is not None
    assert feed.terminal == ({"usage"} if billable else {"completed", "failed", "canceled"})

    plan, finished = _plan(feed, None)
    assert (plan.after_id, finished) == (0, False)  # a fresh client replays the whole job
    plan, finished = _plan(feed, events[0].id)
    assert (plan.after_id, finished) == (events[0].id, False)
    assert _plan(feed, events[-1].id) == (plan.__class__(after_id=events[-1].id), True)


def test_feeds_of_another_org_do_not_resolve(org: Organization, other_org: Organization) -> None:
    job, _ = finished_job(org, billable=False)
    assert resolve_feed(other_org.pk, "job", job.pk) is None
    assert resolve_feed(org.pk, "job", "job_does_not_exist") is None
