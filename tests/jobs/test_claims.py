"""Claims are atomic: a redelivered task does nothing, and a job runs once."""

from __future__ import annotations

import threading

import pytest
from django.db import DatabaseError, connection, transaction

from core.errors import QuotaExceeded
from jobs import services
from jobs.handle import claim_job, run_job
from jobs.models import Job, JobStatus

pytestmark = pytest.mark.django_db


def test_a_job_is_claimed_once(org):
    job = services.create_job(org, "statement", {}, submit=False)
    first = claim_job(job.pk)
    assert first is not None
    assert first.attempts == 1
    assert claim_job(job.pk) is None  # the redelivered message
    assert Job.objects.get(pk=job.pk).attempts == 1


def test_a_transient_database_error_gives_the_job_back(org):
    job = services.create_job(org, "statement", {}, submit=False)

    def fail_mid_job() -> None:
        with run_job(job.pk) as claimed:
            assert claimed is not None
            raise DatabaseError("connection reset")

    with pytest.raises(DatabaseError):
        fail_mid_job()
    job.refresh_from_db()
    assert job.status == JobStatus.QUEUED
    assert claim_job(job.pk) is not None  # the task's retry claims it again


def test_an_ended_job_is_not_claimed(org):
    job = services.create_job(org, "statement", {}, submit=False)
    Job.objects.filter(pk=job.pk).update(status=JobStatus.CANCELED)
    with run_job(job.pk) as claimed:
        assert claimed is None


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_creates_cannot_both_take_the_last_slot(org):
    if connection.vendor != "postgresql":
        pytest.skip("row locks need PostgreSQL")
    org.monthly_job_limit = 1
    org.save()
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def create() -> None:
        try:
            barrier.wait()
            with transaction.atomic():
                services.create_job(org, "statement", {}, submit=False)
            outcomes.append("created")
        except QuotaExceeded:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=create) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["created", "refused"]
    assert Job.objects.count() == 1
