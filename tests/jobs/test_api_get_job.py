"""GET /api/v1/jobs/{id}."""

from __future__ import annotations

import pytest

from jobs.models import Job

pytestmark = pytest.mark.django_db


def test_it_shows_a_job(api, org):
    job = Job.objects.create(organization=org, type="statement", input={"deal_id": 1})
    response = api.get(f"/api/v1/jobs/{job.pk}")
    assert response.status_code == 200
    body = response.json()
    assert body["id"] == job.pk
    assert body["id"].startswith("job_")
    assert body["status"] == "queued"
    assert body["progress"] == 0.0
    for name in (
        "message",
        "results",
        "error",
        "created_at",
        "started_at",
        "finished_at",
        "cancel_requested",
    ):
        assert name in body


def test_another_organisations_job_is_not_found(api, other_org):
    job = Job.objects.create(organization=other_org, type="statement")
    response = api.get(f"/api/v1/jobs/{job.pk}")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize("job_id", ["job_unknown", "x" * 300, "123"])
def test_unknown_jobs_are_not_found(api, job_id):
    assert api.get(f"/api/v1/jobs/{job_id}").status_code == 404


def test_it_needs_a_key(anon, org):
    job = Job.objects.create(organization=org, type="statement")
    assert anon.get(f"/api/v1/jobs/{job.pk}").status_code == 401


@pytest.mark.parametrize("path", ["/api/v1/jobs/job_%00", "/api/v1/batches/batch_%00x", "/api/v1/deals/1%00"])
def test_ids_with_control_characters_are_not_found(api, path):
    response = api.get(path)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
