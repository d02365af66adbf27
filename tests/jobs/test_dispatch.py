"""The job outbox: a job whose message the broker refused stays queued and owed, and is sent later.

The broker is replaced by a function that raises (unit tests of the code around it); the
real outage, with a Redis server killed and restarted, is tests/e2e/test_broker_outage.py.
"""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.utils import timezone
from kombu.exceptions import OperationalError

from deals.models import Deal, StatementStatus
from jobs import dispatch, services
from jobs.handle import claim_job
from jobs.models import Job, JobStatus
from tests.jobs.factories import healthy_csv, upload

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media(settings: Any, tmp_path: Any) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def retry_loops(monkeypatch: pytest.MonkeyPatch) -> list[None]:
    """Records retry loops asked for instead of starting threads outside the test's transaction."""
    started: list[None] = []
    monkeypatch.setattr(dispatch, "start_retry_loop", lambda: started.append(None))
    return started


def refuse(*args: Any, **kwargs: Any) -> None:
    raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")


@pytest.fixture
def broker_down(monkeypatch: pytest.MonkeyPatch, retry_loops: list[None]) -> None:
    monkeypatch.setattr(dispatch, "submit", refuse)


def post_statement(api: Any, deal: Deal, django_capture_on_commit_callbacks: Any) -> Any:
    with django_capture_on_commit_callbacks(execute=True):
        return api.post(
            f"/api/v1/deals/{deal.pk}/statements",
            {"file": upload("a.csv", healthy_csv())},
            format="multipart",
        )


def test_it_accepts_an_upload_the_broker_refuses_and_keeps_the_job_owed(
    api, org, broker_down, retry_loops, django_capture_on_commit_callbacks
):
    deal = Deal.objects.create(organization=org, business_name="Bolt")
    response = post_statement(api, deal, django_capture_on_commit_callbacks)
    assert response.status_code == 202, response.content
    job = Job.objects.get(pk=response.json()["job_id"])
    assert job.status == JobStatus.QUEUED
    assert job.dispatch_due_at is not None
    assert retry_loops  # this process keeps trying
    assert deal.statements.get().file  # the stored file was kept for the job


def test_it_sends_owed_jobs_once_the_broker_is_back(
    api, org, retry_loops, monkeypatch, django_capture_on_commit_callbacks
):
    deal = Deal.objects.create(organization=org, business_name="Bolt")
    real_submit = dispatch.submit
    monkeypatch.setattr(dispatch, "submit", refuse)
    job_id = post_statement(api, deal, django_capture_on_commit_callbacks).json()["job_id"]
    monkeypatch.setattr(dispatch, "submit", real_submit)

    assert dispatch.dispatch_owed_jobs().sent == []  # still within the grace of its own send
    report = dispatch.dispatch_owed_jobs(grace=datetime.timedelta(0))
    assert report.as_dict() == {"sent": [job_id], "broker_down": False, "still_owed": 0}
    job = Job.objects.get(pk=job_id)
    assert (job.status, job.attempts, job.dispatch_due_at) == (JobStatus.COMPLETED, 1, None)
    assert deal.statements.get().status == StatementStatus.COMPLETED


def test_it_stops_a_pass_at_the_first_refusal(org, broker_down):
    past = timezone.now() - datetime.timedelta(minutes=1)
    jobs = services.create_jobs(org, "statement", [{}, {}], submit=False)
    Job.objects.filter(pk__in=[j.pk for j in jobs]).update(dispatch_due_at=past)
    report = dispatch.dispatch_owed_jobs()
    assert report.sent == []
    assert report.broker_down
    assert report.still_owed == 2


def test_a_sent_message_clears_the_debt(org, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        job = services.create_job(org, "statement", {})
    assert Job.objects.get(pk=job.pk).dispatch_due_at is not None
    for callback in callbacks:
        callback()
    # The inline runner ran it (the statement is missing, so it failed); the debt is paid.
    assert Job.objects.get(pk=job.pk).dispatch_due_at is None


def test_a_claim_clears_the_debt(org):
    job = services.create_job(org, "statement", {}, submit=False)
    Job.objects.filter(pk=job.pk).update(dispatch_due_at=timezone.now())
    assert claim_job(job.pk) is not None
    assert Job.objects.get(pk=job.pk).dispatch_due_at is None
    assert dispatch.dispatch_owed_jobs(grace=datetime.timedelta(0)).still_owed == 0


def test_a_requeued_job_is_owed_again(org, django_capture_on_commit_callbacks):
    job = services.create_job(org, "statement", {}, submit=False)
    claim_job(job.pk)
    Job.objects.filter(pk=job.pk).update(heartbeat_at=timezone.now() - datetime.timedelta(minutes=5))
    with django_capture_on_commit_callbacks(execute=False):  # the new message is lost too
        assert services.reap_stale_jobs().requeued == [job.pk]
    job.refresh_from_db()
    assert (job.status, job.dispatch_due_at is not None) == (JobStatus.QUEUED, True)
