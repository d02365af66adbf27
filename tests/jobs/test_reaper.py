"""The reaper: a job whose worker died is requeued (and run again) or, after MAX_ATTEMPTS, failed."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from deals import pipeline
from deals.models import Deal, DealStatus, Statement, StatementStatus
from jobs import services
from jobs.handle import JobLost, JobRun, claim_job
from jobs.models import Job, JobStatus
from tests.jobs.factories import events, healthy_csv, upload

pytestmark = pytest.mark.django_db

LONG_AGO = datetime.timedelta(minutes=5)


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def orphan(api, org, django_capture_on_commit_callbacks) -> Job:
    """A statement job a worker claimed and then died on: started, heartbeat long silent."""
    deal = Deal.objects.create(organization=org, business_name="Bolt")
    with django_capture_on_commit_callbacks(execute=False):  # the message is lost with the worker
        accepted = api.post(
            f"/api/v1/deals/{deal.pk}/statements",
            {"file": upload("a.csv", healthy_csv())},
            format="multipart",
        ).json()
    job = claim_job(accepted["job_id"])
    assert job is not None
    Job.objects.filter(pk=job.pk).update(heartbeat_at=timezone.now() - LONG_AGO)
    return job


def test_it_requeues_a_silent_job_which_then_completes(orphan, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        report = services.reap_stale_jobs()
    assert report.requeued == [orphan.pk]
    job = Job.objects.get(pk=orphan.pk)
    assert (job.status, job.attempts) == (JobStatus.COMPLETED, 2)
    statuses = [e.data["status"] for e in events(job_id=job.pk, type="status")]
    assert statuses == ["queued", "started", "queued", "started"]
    assert [e.type for e in events(job_id=job.pk)][-2:] == ["completed", "usage"]
    assert Deal.objects.get().status == DealStatus.UNDER_REVIEW


def test_it_fails_a_job_whose_workers_kept_dying(orphan, django_capture_on_commit_callbacks):
    Job.objects.filter(pk=orphan.pk).update(attempts=services.MAX_ATTEMPTS)
    with django_capture_on_commit_callbacks(execute=True):
        report = services.reap_stale_jobs()
    assert report.failed == [orphan.pk]
    job = Job.objects.get(pk=orphan.pk)
    assert job.status == JobStatus.FAILED
    assert "stopped responding" in job.error
    assert [e.type for e in events(job_id=job.pk)][-2:] == ["failed", "usage"]
    statement = Statement.objects.get(job=job)
    assert (statement.status, statement.error) == (StatementStatus.FAILED, job.error)
    assert events(type="processing.failed")[0].data["error"] == job.error
    assert Deal.objects.get().status == DealStatus.UNDER_REVIEW
    # Its only statement never got read: the deal waits for documents, with nothing proposed.
    assert events(type="proposed_change") == []


def test_it_leaves_live_jobs_alone(orphan):
    Job.objects.filter(pk=orphan.pk).update(heartbeat_at=timezone.now())
    report = services.reap_stale_jobs()
    assert report.requeued == report.failed == []
    assert Job.objects.get(pk=orphan.pk).status == JobStatus.STARTED


def test_it_resubmits_a_queued_job_whose_message_was_lost(api, org, django_capture_on_commit_callbacks):
    deal = Deal.objects.create(organization=org, business_name="Bolt")
    with django_capture_on_commit_callbacks(execute=False):
        accepted = api.post(
            f"/api/v1/deals/{deal.pk}/statements",
            {"file": upload("a.csv", healthy_csv())},
            format="multipart",
        ).json()
    Job.objects.filter(pk=accepted["job_id"]).update(
        heartbeat_at=timezone.now() - datetime.timedelta(hours=1)
    )
    with django_capture_on_commit_callbacks(execute=True):
        report = services.reap_stale_jobs()
    assert report.resubmitted == [accepted["job_id"]]
    assert Job.objects.get(pk=accepted["job_id"]).status == JobStatus.COMPLETED


def test_the_old_run_of_a_reaped_job_stops_without_side_effects(orphan, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        services.reap_stale_jobs()
    again = claim_job(orphan.pk)  # another worker takes it
    assert again is not None
    assert again.attempts == 2
    before = len(events())
    # The first worker was only slow, not dead: its next boundary finds the job is not its own
    # (and `run_job` around it would stop quietly).
    with pytest.raises(JobLost):
        pipeline.process_statement(JobRun(orphan))
    assert len(events()) == before
    assert Job.objects.get(pk=orphan.pk).status == JobStatus.STARTED
    assert Statement.objects.get(job_id=orphan.pk).status == StatementStatus.QUEUED
