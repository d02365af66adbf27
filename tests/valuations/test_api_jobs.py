"""The async form: `POST /api/v1/jobs {"type": "valuation", "input": {...}}` (inline runner)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from rest_framework.test import APIClient

from accounts.models import Organization
from events.models import Event
from jobs.models import Job
from jobs.services import create_job
from valuations.models import Valuation
from valuations.tasks import run_valuation_job

REQUEST: dict[str, Any] = {
    "url": "https://retailer.example/product/123",
    "overrideProduct": {
        "brand": "Example Brand",
        "name": "Wool Coat",
        "category": "coat",
        "price": 249,
        "materials": [{"name": "wool", "percentage": 80}, {"name": "polyamide", "percentage": 20}],
    },
    "client": {"id": "agent", "surface": "api", "version": "1.0.0"},
}

CaptureCallbacks = Callable[..., Any]


def job_events(job_id: str) -> list[tuple[str, dict[str, Any]]]:
    return [(e.type, e.data) for e in Event.objects.filter(job_id=job_id).order_by("id")]


def test_a_valuation_job_runs_the_same_service_and_completes_with_the_response(
    api: APIClient, django_capture_on_commit_callbacks: CaptureCallbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post("/api/v1/jobs", {"type": "valuation", "input": REQUEST}, format="json")
    assert response.status_code == 202, response.content
    job_id = response.json()["id"]
    assert job_id.startswith("job_")

    job = api.get(f"/api/v1/jobs/{job_id}").json()
    assert job["status"] == "completed"
    assert job["progress"] == 1.0
    stored = Valuation.objects.get()
    assert job["results"] == stored.result
    assert set(job["results"]) >= {"productId", "priceFairnessScore", "circularity", "version"}
    assert stored.client_id == "agent"
    # The direct endpoint scores the same product the same way.
    direct = api.post("/api/v1/value-decision", REQUEST, format="json").json()
    assert {k: v for k, v in direct.items() if k != "generatedAt"} == {
        k: v for k, v in job["results"].items() if k != "generatedAt"
    }

    events = job_events(job_id)
    types = [event_type for event_type, _ in events]
    assert types == [
        "status",
        "status",
        "progress",
        "progress",
        "progress",
        "progress",
        "progress",
        "completed",
        "usage",
    ]
    assert [data["status"] for t, data in events if t == "status"] == ["queued", "started"]
    progress = [data["progress"] for t, data in events if t == "progress"]
    assert progress == [0.05, 0.2, 0.35, 0.6, 0.9]
    messages = [data["message"] for t, data in events if t == "progress"]
    assert messages[1] == "Using the product details sent in overrideProduct"
    assert messages[2].startswith("Price fairness scored")
    completed = events[-2][1]
    assert completed["results"] == stored.result
    assert all("type" in data for _, data in events)


def test_invalid_job_input_is_400_before_any_job(api: APIClient) -> None:
    bad = {**REQUEST, "overrideProduct": {**REQUEST["overrideProduct"], "price": 0}}
    response = api.post("/api/v1/jobs", {"type": "valuation", "input": bad}, format="json")
    assert response.status_code == 400
    fields = response.json()["error"]["fields"]
    # The jobs API names the field (nested or flattened: its own convention); the message is ours.
    assert "input" in json.dumps(fields)
    assert "Price must be greater than 0." in json.dumps(fields)
    assert not Job.objects.exists()


def test_a_page_that_cannot_be_read_fails_the_job(
    api: APIClient, settings: Any, django_capture_on_commit_callbacks: CaptureCallbacks
) -> None:
    settings.VALUATION_ALLOW_PRIVATE_URLS = False
    data = {"url": "http://127.0.0.1:9/product", "client": {"id": "agent"}}
    with django_capture_on_commit_callbacks(execute=True):
        job_id = api.post("/api/v1/jobs", {"type": "valuation", "input": data}, format="json").json()["id"]
    job = api.get(f"/api/v1/jobs/{job_id}").json()
    assert job["status"] == "failed"
    assert "private address" in job["error"]
    assert job_events(job_id)[-2][0] == "failed"
    assert not Valuation.objects.exists()


def test_a_job_canceled_before_it_runs_ends_canceled(org: Organization) -> None:
    job = create_job(org, "valuation", REQUEST, submit=False)
    Job.objects.filter(pk=job.pk).update(cancel_requested=True)
    run_valuation_job.apply(args=(job.pk,))
    job.refresh_from_db()
    assert job.status == "canceled"
    assert not Valuation.objects.exists()


@pytest.mark.parametrize("job_input", [{"url": "not a url"}, {"overrideProduct": {"price": 1}}])
def test_a_job_row_with_bad_input_fails_instead_of_crashing(
    org: Organization, job_input: dict[str, Any]
) -> None:
    job = create_job(org, "valuation", job_input, submit=False)
    run_valuation_job.apply(args=(job.pk,))
    job.refresh_from_db()
    assert job.status == "failed"
    assert job.error.startswith("Invalid input")
