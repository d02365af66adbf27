"""The job handle (jobs/handle.py): stage boundaries, the terminal transitions, cancel, lost runs."""

from __future__ import annotations

import datetime

import pytest
from django.db import DatabaseError
from django.utils import timezone

from accounts.models import Organization
from jobs import services
from jobs.handle import MAX_ATTEMPTS, JobCanceled, JobLost, JobRun, claim_job, run_job
from jobs.models import Job, JobStatus
from tests.jobs.factories import events

pytestmark = pytest.mark.django_db


def queued_job(org: Organization, *, request_id: str = "") -> Job:
    return services.create_job(org, "statement", {}, submit=False, request_id=request_id)


def claimed(job: Job) -> JobRun:
    taken = claim_job(job.pk)
    assert taken is not None
    return JobRun(taken)


def fail_with_a_database_error(job: Job) -> None:
    with run_job(job.pk) as run:
        assert run is not None
        raise DatabaseError("connection reset")


def job_events(job: Job) -> list[tuple[str, dict[str, object]]]:
    return [(e.type, e.data) for e in events(job_id=job.pk)]


def test_it_reports_stages_and_completes(org):
    job = queued_job(org, request_id="req-42")
    with run_job(job.pk) as run:
        assert run is not None
        run.stage("parsing", 0.25)
        run.stage("scoring", 0.75, "Scoring the statement")
        run.complete({"answer": 42})
    job.refresh_from_db()
    assert (job.status, job.progress, job.results, job.message) == (
        JobStatus.COMPLETED,
        1.0,
        {"answer": 42},
        "Completed",
    )
    assert job.finished_at is not None
    got = job_events(job)
    assert [t for t, _ in got] == ["status", "status", "progress", "progress", "completed", "usage"]
    assert [(d["progress"], d["message"]) for t, d in got if t == "progress"] == [
        (0.25, "parsing"),
        (0.75, "Scoring the statement"),
    ]
    assert got[4][1]["results"] == {"answer": 42}
    assert got[5][1]["monthly_used"] == 1
    # The work's events carry the id of the request that queued the job.
    assert {e.data.get("request_id") for e in events(job_id=job.pk)} == {"req-42"}


def test_it_fails_with_the_reason(org):
    job = queued_job(org)
    with run_job(job.pk) as run:
        assert run is not None
        run.fail("The statement contains no transactions")
    job.refresh_from_db()
    assert (job.status, job.error, job.message) == (
        JobStatus.FAILED,
        "The statement contains no transactions",
        "Failed",
    )
    got = job_events(job)
    assert [t for t, _ in got][-2:] == ["failed", "usage"]
    assert got[-2][1]["error"] == "The statement contains no transactions"


def test_a_canceled_job_stops_at_its_next_stage_and_ends_canceled(org):
    job = queued_job(org)
    with run_job(job.pk) as run:
        assert run is not None
        run.stage("parsing", 0.25)
        services.request_cancel(org, job.pk)
        with pytest.raises(JobCanceled):
            run.stage("screening", 0.5)
        run.cancel()
    job.refresh_from_db()
    assert (job.status, job.progress, job.message) == (JobStatus.CANCELED, 0.25, "Canceled")
    assert [t for t, _ in job_events(job)] == ["status", "status", "progress", "canceled", "usage"]


def test_completing_is_the_last_boundary_so_a_cancel_before_it_stores_nothing(org):
    job = queued_job(org)
    run = claimed(job)
    services.request_cancel(org, job.pk)
    before = len(events())

    def store_then_complete() -> None:
        with run.transaction(stop_if_canceled=False):
            # What the pipeline writes in the same transaction goes with it.
            Job.objects.filter(pk=job.pk).update(message="results stored")
            run.complete({"answer": 42})

    with pytest.raises(JobCanceled):
        store_then_complete()
    job.refresh_from_db()
    assert (job.status, job.message, job.results) == (JobStatus.STARTED, "Cancellation requested", None)
    assert len(events()) == before


def test_a_run_whose_job_was_reaped_and_claimed_again_is_lost(org):
    job = queued_job(org)
    first = claimed(job)
    Job.objects.filter(pk=job.pk).update(heartbeat_at=timezone.now() - datetime.timedelta(minutes=5))
    assert services.reap_stale_jobs().requeued == [job.pk]
    second = claim_job(job.pk)
    assert second is not None
    assert second.attempts == 2
    before = len(events())
    with pytest.raises(JobLost):
        first.stage("parsing", 0.25)
    with pytest.raises(JobLost):
        first.complete({"answer": 1})
    with pytest.raises(JobLost):
        first.fail("too late")
    assert len(events()) == before
    job.refresh_from_db()
    assert (job.status, job.attempts, job.progress) == (JobStatus.STARTED, 2, 0.0)


def test_run_job_stops_quietly_when_its_run_is_lost(org):
    job = queued_job(org)
    with run_job(job.pk) as run:
        assert run is not None
        Job.objects.filter(pk=job.pk).update(status=JobStatus.FAILED)  # someone else ended it
        run.stage("parsing", 0.25)
        raise AssertionError("the stage boundary should have stopped the run")
    assert Job.objects.get(pk=job.pk).status == JobStatus.FAILED


def test_there_is_nothing_to_run_for_a_job_that_is_not_queued(org):
    job = queued_job(org)
    assert claim_job(job.pk) is not None
    with run_job(job.pk) as run:  # the message delivered a second time
        assert run is None
    assert Job.objects.get(pk=job.pk).attempts == 1


def test_a_database_error_gives_the_job_back_with_its_message_owed_later(org):
    job = queued_job(org)
    with pytest.raises(DatabaseError):
        fail_with_a_database_error(job)
    job.refresh_from_db()
    assert (job.status, job.attempts) == (JobStatus.QUEUED, 1)
    # The outbox's dispatcher sends it again after a short delay; the claim counts the attempt.
    assert job.dispatch_due_at is not None
    assert job.dispatch_due_at > timezone.now()
    assert [e.data["status"] for e in events(job_id=job.pk, type="status")] == ["queued", "started", "queued"]


def test_the_last_attempt_is_not_given_back_but_left_to_the_reaper(org):
    job = queued_job(org)
    Job.objects.filter(pk=job.pk).update(attempts=MAX_ATTEMPTS - 1)
    with pytest.raises(DatabaseError):
        fail_with_a_database_error(job)
    job.refresh_from_db()
    assert (job.status, job.attempts) == (JobStatus.STARTED, MAX_ATTEMPTS)
    Job.objects.filter(pk=job.pk).update(heartbeat_at=timezone.now() - datetime.timedelta(minutes=5))
    assert services.reap_stale_jobs().failed == [job.pk]
    assert Job.objects.get(pk=job.pk).status == JobStatus.FAILED


def test_a_redelivered_message_never_recovers_a_dead_workers_job_the_reaper_does(org):
    job = queued_job(org)
    assert claim_job(job.pk) is not None  # the worker that then died
    Job.objects.filter(pk=job.pk).update(heartbeat_at=timezone.now() - datetime.timedelta(minutes=5))
    # The broker's visibility timeout hands the dead worker's message to another worker.
    with run_job(job.pk) as run:
        assert run is None
    assert Job.objects.get(pk=job.pk).status == JobStatus.STARTED
    # One mechanism recovers it, counted in the job's attempts.
    assert services.reap_stale_jobs().requeued == [job.pk]
    again = claim_job(job.pk)
    assert again is not None
    assert again.attempts == 2
