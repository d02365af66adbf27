"""GET /api/v1/jobs."""

from __future__ import annotations

import pytest

from jobs.models import Job, JobStatus

pytestmark = pytest.mark.django_db


def test_it_lists_newest_first_in_pages(api, org):
    jobs = [Job.objects.create(organization=org, type="statement") for _ in range(3)]
    first = api.get("/api/v1/jobs?limit=2").json()
    assert [j["id"] for j in first["results"]] == [jobs[2].pk, jobs[1].pk]
    second = api.get(first["next"]).json()
    assert [j["id"] for j in second["results"]] == [jobs[0].pk]
    assert second["next"] is None


def test_it_filters_by_status_and_type(api, org):
    Job.objects.create(organization=org, type="statement", status=JobStatus.COMPLETED)
    failed = Job.objects.create(organization=org, type="statement", status=JobStatus.FAILED)
    Job.objects.create(organization=org, type="valuation", status=JobStatus.FAILED)
    body = api.get("/api/v1/jobs?status=failed&type=statement").json()
    assert [j["id"] for j in body["results"]] == [failed.pk]


def test_it_rejects_an_unknown_status(api):
    response = api.get("/api/v1/jobs?status=lost")
    assert response.status_code == 400
    assert "status" in response.json()["error"]["fields"]


def test_it_shows_only_the_callers_jobs(api, org, other_org):
    mine = Job.objects.create(organization=org, type="statement")
    Job.objects.create(organization=other_org, type="statement")
    assert [j["id"] for j in api.get("/api/v1/jobs").json()["results"]] == [mine.pk]
