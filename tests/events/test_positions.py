"""`event_position` on reads: the newest stored event of the object's feed, body and header."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from accounts.models import Organization
from deals.models import Batch, Deal
from events import publish
from events.models import OrgEventSequence
from events.positions import feed_position
from events.publish import publish_event
from jobs.models import Job

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_fan_out(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(publish, "fan_out", lambda event: None)


def changed(org: Organization, deal_id: int) -> int:
    data = {"deal_id": deal_id, "old_status": "new", "new_status": "processing"}
    return publish_event(org.pk, "deal.status_changed", data).id


def test_a_deal_read_carries_its_feeds_newest_event(api: APIClient, org: Organization) -> None:
    deal = Deal.objects.create(organization=org, business_name="Bolt")
    other = Deal.objects.create(organization=org, business_name="Other")
    first = changed(org, deal.pk)
    changed(org, other.pk)  # newer, but in another deal's feed
    response = api.get(f"/api/v1/deals/{deal.pk}")
    assert response.status_code == 200
    assert response.json()["event_position"] == first
    assert response["Last-Event-ID"] == str(first)


def test_a_job_and_a_batch_read_carry_theirs(api: APIClient, org: Organization) -> None:
    deal = Deal.objects.create(organization=org, business_name="Bolt")
    batch = Batch.objects.create(organization=org, deal=deal, total=1)
    job = Job.objects.create(organization=org, type="valuation", billable=False)
    job_event = publish_event(org.pk, "status", {"job_id": job.pk, "status": "started"}).id
    data = {"batch_id": batch.pk, "document_id": "d", "status": "ok", "progress": "1/1"}
    batch_event = publish_event(org.pk, "batch.document_processed", data).id
    job_read = api.get(f"/api/v1/jobs/{job.pk}")
    batch_read = api.get(f"/api/v1/batches/{batch.pk}")
    assert (job_read.json()["event_position"], job_read["Last-Event-ID"]) == (job_event, str(job_event))
    assert (batch_read.json()["event_position"], batch_read["Last-Event-ID"]) == (
        batch_event,
        str(batch_event),
    )


def test_a_feed_with_nothing_stored_is_at_the_retention_mark(org: Organization) -> None:
    deal = Deal.objects.create(organization=org, business_name="Quiet")
    assert feed_position(org.pk, "deal", deal.pk) == 0
    changed(org, deal.pk + 1)
    OrgEventSequence.objects.filter(organization=org).update(pruned_through_id=41)
    assert feed_position(org.pk, "deal", deal.pk) == 41


def test_another_organisations_deal_is_still_404(api: APIClient, other_org: Organization) -> None:
    deal = Deal.objects.create(organization=other_org, business_name="Theirs")
    response = api.get(f"/api/v1/deals/{deal.pk}")
    assert response.status_code == 404
    assert "Last-Event-ID" not in response
