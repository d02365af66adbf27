"""GET /api/v1/usage."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from jobs.models import Job

pytestmark = pytest.mark.django_db


def test_it_counts_billable_jobs_of_this_month(api, org, other_org):
    Job.objects.create(organization=org, type="statement")
    Job.objects.create(organization=org, type="statement")
    Job.objects.create(organization=org, type="statement", billable=False)
    Job.objects.create(organization=other_org, type="statement")
    last_month = Job.objects.create(organization=org, type="statement")
    Job.objects.filter(pk=last_month.pk).update(created_at=timezone.now() - datetime.timedelta(days=40))
    response = api.get("/api/v1/usage")
    assert response.status_code == 200
    assert response.json() == {
        "monthly_used": 2,
        "monthly_limit": 500,
        "monthly_remaining": 498,
        "subscription_tier": "free",
    }


def test_it_uses_the_organisations_own_limit(api, org):
    org.monthly_job_limit = 1
    org.subscription_tier = "pro"
    org.save()
    Job.objects.create(organization=org, type="statement")
    Job.objects.create(organization=org, type="statement")
    body = api.get("/api/v1/usage").json()
    assert (body["monthly_used"], body["monthly_limit"], body["monthly_remaining"]) == (2, 1, 0)
    assert body["subscription_tier"] == "pro"


def test_it_needs_a_key(anon):
    assert anon.get("/api/v1/usage").status_code == 401
