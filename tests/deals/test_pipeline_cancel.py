"""Cancelling a statement's job between stages: it stops at the next boundary and ends canceled."""

from __future__ import annotations

import pytest

from deals import pipeline
from deals.models import Deal, DealStatus, Statement, StatementStatus
from jobs import services as jobs
from jobs.models import Job, JobStatus
from tests.jobs.factories import events, healthy_csv, stage_events, upload

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def upload_with_cancel_during(api, org, monkeypatch, stage_function: str, django_capture_on_commit_callbacks):
    deal = Deal.objects.create(organization=org, business_name="Bolt")
    original = getattr(pipeline, stage_function)

    def cancel_then_run(*args, **kwargs):
        job = Job.objects.get(status=JobStatus.STARTED)
        jobs.request_cancel(org, job.pk)
        return original(*args, **kwargs)

    monkeypatch.setattr(pipeline, stage_function, cancel_then_run)
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(
            f"/api/v1/deals/{deal.pk}/statements",
            {"file": upload("a.csv", healthy_csv())},
            format="multipart",
        )
    return deal, response.json()


def test_it_stops_at_the_next_stage_boundary(api, org, monkeypatch, django_capture_on_commit_callbacks):
    deal, accepted = upload_with_cancel_during(
        api, org, monkeypatch, "parse_document", django_capture_on_commit_callbacks
    )
    assert stage_events(accepted["statement_id"]) == [
        ("processing.started", "extracting_text", 0),
        ("processing.progress", "parsing", 25),
        ("processing.failed", None, None),
    ]
    assert events(type="processing.failed")[0].data["error"] == "Processing was canceled"
    job = Job.objects.get(pk=accepted["job_id"])
    assert job.status == JobStatus.CANCELED
    assert [e.type for e in events(job_id=job.pk)] == [
        "status",
        "status",
        "progress",
        "progress",
        "canceled",
        "usage",
    ]
    statement = Statement.objects.get(pk=accepted["statement_id"])
    assert (statement.status, statement.metrics) == (StatementStatus.CANCELED, None)
    deal.refresh_from_db()
    assert deal.status == DealStatus.UNDER_REVIEW
    assert deal.health_score is None


def test_a_cancel_during_the_last_stage_stores_nothing(
    api, org, monkeypatch, django_capture_on_commit_callbacks
):
    deal, accepted = upload_with_cancel_during(
        api, org, monkeypatch, "compute_statement_metrics", django_capture_on_commit_callbacks
    )
    assert Job.objects.get(pk=accepted["job_id"]).status == JobStatus.CANCELED
    assert Statement.objects.get(pk=accepted["statement_id"]).status == StatementStatus.CANCELED
    assert not events(type="processing.completed")
    deal.refresh_from_db()
    assert deal.health_score is None


def test_cancel_after_the_end_is_a_conflict(api, org, django_capture_on_commit_callbacks):
    deal = Deal.objects.create(organization=org, business_name="Bolt")
    with django_capture_on_commit_callbacks(execute=True):
        accepted = api.post(
            f"/api/v1/deals/{deal.pk}/statements",
            {"file": upload("a.csv", healthy_csv())},
            format="multipart",
        ).json()
    assert api.post(f"/api/v1/jobs/{accepted['job_id']}/cancel").status_code == 409
