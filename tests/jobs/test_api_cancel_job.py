"""POST /api/v1/jobs/{id}/cancel."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from deals.models import Deal, DealStatus, Statement, StatementStatus
from jobs.models import Job, JobStatus
from tests.jobs.factories import events, healthy_csv, upload

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def test_a_queued_job_ends_canceled_without_starting(api, org, django_capture_on_commit_callbacks):
    deal = Deal.objects.create(organization=org, business_name="Bolt")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        accepted = api.post(
            f"/api/v1/deals/{deal.pk}/statements",
            {"file": upload("a.csv", healthy_csv())},
            format="multipart",
        ).json()
    response = api.post(f"/api/v1/jobs/{accepted['job_id']}/cancel")
    assert response.status_code == 202
    assert response.json()["cancel_requested"] is True
    assert response.json()["status"] == "queued"

    for callback in callbacks:  # the worker picks the job up
        callback()
    job = Job.objects.get(pk=accepted["job_id"])
    assert job.status == JobStatus.CANCELED
    assert [e.type for e in events(job_id=job.pk)] == ["status", "canceled", "usage"]
    assert Statement.objects.get(pk=accepted["statement_id"]).status == StatementStatus.CANCELED
    assert [e.type for e in events(type__startswith="processing.")] == ["processing.failed"]
    assert events(type="processing.failed")[0].data["canceled"] is True
    deal.refresh_from_db()
    assert deal.status == DealStatus.UNDER_REVIEW


@pytest.mark.parametrize("status", [JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELED])
def test_an_ended_job_is_a_conflict(api, org, status):
    job = Job.objects.create(organization=org, type="statement", status=status)
    response = api.post(f"/api/v1/jobs/{job.pk}/cancel")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "job_finished"
    job.refresh_from_db()
    assert job.cancel_requested is False


def test_a_running_job_is_asked_to_stop(api, org):
    job = Job.objects.create(organization=org, type="statement", status=JobStatus.STARTED, attempts=1)
    response = api.post(f"/api/v1/jobs/{job.pk}/cancel")
    assert response.status_code == 202
    job.refresh_from_db()
    assert (job.status, job.cancel_requested) == (JobStatus.STARTED, True)
    # Asking again is harmless.
    assert api.post(f"/api/v1/jobs/{job.pk}/cancel").status_code == 202


def test_another_organisations_job_is_not_found(api, other_org):
    job = Job.objects.create(organization=other_org, type="statement")
    assert api.post(f"/api/v1/jobs/{job.pk}/cancel").status_code == 404
    job.refresh_from_db()
    assert job.cancel_requested is False


def test_it_needs_the_write_scope(org, make_key):
    job = Job.objects.create(organization=org, type="statement")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {make_key(org, scopes=['read'])}")
    assert client.post(f"/api/v1/jobs/{job.pk}/cancel").status_code == 403
