"""The SSE endpoints as the OpenAPI schema describes them, on a real server.

tests/api/test_schema_fuzz.py fuzzes every other operation in process; the streams need a
server's event loop and the org and deal feeds never end, so here every streaming operation
(tag `streams`) is called with requests that end (a finished job or batch replays and closes,
a valuation stream closes after its result, refusals answer JSON before any stream byte), and
each response is validated against the published schema with the fuzz's checks.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance

from tests.e2e.stack import Stack, embedded_stack

pytestmark = pytest.mark.e2e

CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance]

VALUATION_REQUEST: dict[str, Any] = {
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

_FINISHED = """
import json
from accounts.models import Organization
from deals.models import Batch, BatchStatus, Deal
from events.publish import publish_event
from jobs.models import Job, JobStatus
org = Organization.objects.get(name="Streams")
deal = Deal.objects.create(organization=org, business_name="Streamed", created_by="test")
job = Job.objects.create(organization=org, type="valuation", billable=False)
Job.objects.filter(pk=job.pk).update(status=JobStatus.COMPLETED)
job_events = [
    publish_event(org.pk, "status", {"job_id": job.pk, "status": "started"}).id,
    publish_event(org.pk, "completed", {"job_id": job.pk, "status": "completed", "results": {}}).id,
]
batch = Batch.objects.create(organization=org, deal=deal, total=1, status=BatchStatus.COMPLETED)
done = {"batch_id": batch.pk, "total": 1, "succeeded": 1, "failed": 0}
batch_events = [publish_event(org.pk, "batch.completed", done).id]
print(json.dumps([job.pk, job_events, batch.pk, batch_events]))
"""


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[Stack, str]]:
    with embedded_stack(RATE_LIMIT_PER_MINUTE="100000") as stack:
        yield stack, stack.start_web("uvicorn")


def test_every_stream_answers_as_the_schema_says(server: tuple[Stack, str]) -> None:
    stack, base_url = server
    key = stack.create_key("Streams")
    job_id, job_events, batch_id, batch_events = json.loads(
        stack.manage("shell", "-c", _FINISHED).splitlines()[-1]
    )
    schema = schemathesis.openapi.from_url(f"{base_url}/api/schema/")
    bearer = {"Authorization": f"Bearer {key}"}
    payload = base64.urlsafe_b64encode(json.dumps(VALUATION_REQUEST).encode()).decode().rstrip("=")
    job_stream = schema["/api/v1/jobs/{job_id}/stream"]["GET"]
    batch_stream = schema["/api/v1/events/batches/{batch_id}"]["GET"]
    deal_stream = schema["/api/v1/events/deals/{deal_id}"]["GET"]
    org_stream = schema["/api/v1/events"]["GET"]
    stream_get = schema["/api/v1/value-decision/stream-get"]["GET"]
    stream_post = schema["/api/v1/value-decision/stream"]["POST"]
    sse = {"Accept": "text/event-stream"}
    cases: list[tuple[Any, int]] = [
        # Finished: replayed, then closed; resuming from the last event is a 204.
        (job_stream.Case(path_parameters={"job_id": job_id}, headers=bearer), 200),
        (job_stream.Case(path_parameters={"job_id": job_id}, query={"token": key}), 200),
        (
            job_stream.Case(
                path_parameters={"job_id": job_id}, headers={**bearer, "Last-Event-ID": str(job_events[-1])}
            ),
            204,
        ),
        (batch_stream.Case(path_parameters={"batch_id": batch_id}, query={"api_key": key}), 200),
        (
            batch_stream.Case(
                path_parameters={"batch_id": batch_id},
                query={"api_key": key, "last_event_id": str(batch_events[-1])},
            ),
            204,
        ),
        (batch_stream.Case(path_parameters={"batch_id": "batch_nope"}, headers=bearer), 404),
        # The feeds that never end: only their refusals can be called to the end.
        (deal_stream.Case(path_parameters={"deal_id": 999_999_999}, headers=bearer), 404),
        (org_stream.Case(), 401),
        (org_stream.Case(headers={**bearer, "Last-Event-ID": "abc"}), 400),
        (org_stream.Case(query={"token": "dsk_live_nope"}), 401),
        # The valuation streams end after their result.
        (stream_get.Case(query={"payload": payload, "api_key": key}), 200),
        (stream_get.Case(query={"payload": "%%%", "api_key": key}), 400),
        (
            stream_post.Case(
                body=VALUATION_REQUEST, headers={**bearer, **sse}, media_type="application/json"
            ),
            200,
        ),
        (stream_post.Case(body={"url": 5}, headers={**bearer, **sse}, media_type="application/json"), 400),
    ]
    for case, status in cases:
        response = case.call_and_validate(checks=CHECKS, timeout=20)
        assert response.status_code == status, (
            case.operation.label,
            response.status_code,
            response.text[:300],
        )
        if status == 200:
            assert response.headers["content-type"][0].startswith("text/event-stream")
            assert response.text.startswith("retry: 3000")
    replay = job_stream.Case(path_parameters={"job_id": job_id}, headers=bearer).call(timeout=20)
    assert [int(line[4:]) for line in replay.text.splitlines() if line.startswith("id: ")] == job_events
    covered = {case.operation.label for case, _ in cases}
    streaming = {
        f"{method.upper()} {path}"
        for path, operations in schema.raw_schema["paths"].items()
        for method, operation in operations.items()
        if "streams" in operation.get("tags", [])
    }
    assert covered == streaming
