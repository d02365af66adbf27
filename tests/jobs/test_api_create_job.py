"""POST /api/v1/jobs, for job tasks (jobs/job_task.py) that have an input serializer."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from celery import shared_task
from rest_framework import serializers
from rest_framework.test import APIClient

from jobs.handle import run_job
from jobs.job_task import JobTask, creatable_job_types
from jobs.models import Job, JobStatus
from tests.jobs.factories import events

pytestmark = pytest.mark.django_db


class EchoInput(serializers.Serializer[Any]):
    text = serializers.CharField(max_length=20)


# Celery's registry holds the task for the whole session; it runs `echo` jobs only while the
# fixture below says so, so no other test sees an extra creatable type.
class EchoJob(JobTask):
    input_serializer = EchoInput


@shared_task(base=EchoJob, name="tests.jobs.echo")
def echo(job_id: str) -> None:
    with run_job(job_id) as run:
        if run is not None:
            run.complete({"echo": run.job.input["text"]})


@pytest.fixture(autouse=True)
def echo_type() -> Iterator[None]:
    EchoJob.job_types = ("echo",)
    yield
    EchoJob.job_types = ()


def test_creatable_types_come_from_celerys_registry():
    # `statement` is a job task without an input serializer: created by uploading only.
    assert creatable_job_types() == ["echo", "valuation"]


def test_it_creates_and_runs_a_job(api, org, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post("/api/v1/jobs", {"type": "echo", "input": {"text": "hi"}}, format="json")
    assert response.status_code == 202
    body = response.json()
    assert body["id"].startswith("job_")
    assert body["status"] == "queued"
    job = Job.objects.get(pk=body["id"])
    assert (job.status, job.results, job.organization) == (JobStatus.COMPLETED, {"echo": "hi"}, org)
    assert [e.type for e in events(job_id=job.pk)] == ["status", "status", "completed", "usage"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "type"),
        ({"type": "nope"}, "type"),
        ({"type": "statement", "input": {}}, "type"),  # created by uploading, not here
        ({"type": "echo", "input": "text"}, "input"),
        ({"type": "echo", "input": {}}, "input.text"),
    ],
)
def test_it_validates(api, body, field):
    response = api.post("/api/v1/jobs", body, format="json")
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]
    assert not Job.objects.exists()


def test_it_refuses_jobs_over_the_monthly_limit(api, org):
    org.monthly_job_limit = 1
    org.save()
    assert (
        api.post("/api/v1/jobs", {"type": "echo", "input": {"text": "a"}}, format="json").status_code == 202
    )
    response = api.post("/api/v1/jobs", {"type": "echo", "input": {"text": "b"}}, format="json")
    assert response.status_code == 402
    assert response.json()["error"]["code"] == "quota_exceeded"
    assert Job.objects.count() == 1


def test_it_is_idempotent(api):
    body = {"type": "echo", "input": {"text": "a"}}
    first = api.post("/api/v1/jobs", body, format="json", HTTP_IDEMPOTENCY_KEY="j-1")
    second = api.post("/api/v1/jobs", body, format="json", HTTP_IDEMPOTENCY_KEY="j-1")
    assert first.json()["id"] == second.json()["id"]
    assert Job.objects.count() == 1


def test_it_needs_the_write_scope(org, make_key):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {make_key(org, scopes=['read'])}")
    assert (
        client.post("/api/v1/jobs", {"type": "echo", "input": {"text": "a"}}, format="json").status_code
        == 403
    )
