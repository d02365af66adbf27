"""The error envelope of each refusal a service or view raises, pinned byte for byte.

Services raise domain errors (core/errors.py) and `api.errors` gives each its status; these
responses are what clients were promised, so the mapping may move but the bytes may not.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import HttpResponse
from rest_framework.test import APIClient

from accounts.models import Organization
from api.errors import STATUS_OF, domain_error_response, exception_handler, status_of
from core import errors
from core.context import request_id_var

REQUEST_ID = "req_pinned"


def envelope(code: str, message: str, fields: str = "{}") -> bytes:
    return (
        f'{{"error":{{"code":"{code}","message":"{message}","fields":{fields}}},"request_id":"{REQUEST_ID}"}}'
    ).encode()


@pytest.fixture
def pinned(api_key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {api_key}", HTTP_X_REQUEST_ID=REQUEST_ID)
    return client


@pytest.fixture
def deal_id(pinned: APIClient) -> int:
    response = pinned.post("/api/v1/deals", {"business_name": "Acme"}, format="json")
    assert response.status_code == 201
    return int(response.json()["id"])


def _zip(names: list[str]) -> SimpleUploadedFile:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in names:
            archive.writestr(name, "date,description,amount\n")
    return SimpleUploadedFile("bundle.zip", buffer.getvalue(), content_type="application/zip")


CASES: list[tuple[str, Callable[[APIClient, int], HttpResponse], int, bytes]] = [
    (
        "no such job",
        lambda c, d: c.get("/api/v1/jobs/job_missing"),
        404,
        envelope("not_found", "No such job."),
    ),
    (
        "no such batch",
        lambda c, d: c.get("/api/v1/batches/batch_missing"),
        404,
        envelope("not_found", "No such batch."),
    ),
    (
        "no such deal",
        lambda c, d: c.get(f"/api/v1/deals/{d + 1000}"),
        404,
        envelope("not_found", "No such deal."),
    ),
    (
        "no such deal for a statement",
        lambda c, d: c.post(
            f"/api/v1/deals/{d + 1000}/statements",
            {"file": SimpleUploadedFile("s.csv", b"date,description,amount\n")},
            format="multipart",
        ),
        404,
        envelope("not_found", "No such deal."),
    ),
    (
        "no such proposed change",
        lambda c, d: c.post("/api/v1/changes/ch_missing/approve", {}, format="json"),
        404,
        envelope("not_found", "No such proposed change."),
    ),
    (
        "no such transaction",
        lambda c, d: c.post(f"/api/v1/deals/{d}/transactions/999/revenue", {"counted": True}, format="json"),
        404,
        envelope("not_found", "No such transaction."),
    ),
    (
        "no such statement",
        lambda c, d: c.delete(f"/api/v1/deals/{d}/statements/999"),
        404,
        envelope("not_found", "No such statement."),
    ),
    (
        "a decision on a deal not under review",
        lambda c, d: c.post(f"/api/v1/deals/{d}/decision", {"decision": "approved"}, format="json"),
        409,
        envelope("deal_not_under_review", "Only a deal under review can be decided; this one is new."),
    ),
    (
        "a job type that cannot be created",
        lambda c, d: c.post("/api/v1/jobs", {"type": "no_such_type", "input": {}}, format="json"),
        400,
        envelope(
            "invalid_request",
            "This job type cannot be created here.",
            '{"type":["Choose one of: %s."]}',
        ),
    ),
    (
        "a purge without a client",
        lambda c, d: c.delete("/api/v1/valuations"),
        400,
        envelope(
            "invalid_request",
            "Say whose valuations to delete with ?client_id=.",
            '{"client_id":["This field is required."]}',
        ),
    ),
    (
        "an idempotency key too long",
        lambda c, d: c.post(
            "/api/v1/deals", {"business_name": "Acme"}, format="json", HTTP_IDEMPOTENCY_KEY="k" * 256
        ),
        400,
        envelope("invalid_idempotency_key", "Idempotency-Key is at most 255 characters."),
    ),
    (
        "an unreadable zip",
        lambda c, d: c.post(
            "/api/v1/batches",
            {"deal_id": d, "files": [SimpleUploadedFile("bundle.zip", b"not a zip")]},
            format="multipart",
        ),
        400,
        envelope("invalid_zip", "bundle.zip is not a readable zip file."),
    ),
    (
        "a zip with nothing in it",
        lambda c, d: c.post("/api/v1/batches", {"deal_id": d, "files": [_zip([])]}, format="multipart"),
        400,
        envelope("invalid_request", "No document to process.", '{"files":["The upload has no files."]}'),
    ),
]


@pytest.mark.parametrize(("name", "call", "status", "body"), CASES, ids=[case[0] for case in CASES])
def test_it_answers_each_refusal_with_the_same_bytes(
    pinned: APIClient, deal_id: int, name: str, call: Any, status: int, body: bytes
) -> None:
    if name == "a job type that cannot be created":
        from jobs.job_task import creatable_job_types

        body = body.replace(b"%s", (", ".join(creatable_job_types()) or "none available").encode())
    response = call(pinned, deal_id)
    assert (response.status_code, response.content) == (status, body)


def test_it_answers_an_exhausted_quota_with_402(pinned: APIClient, deal_id: int, org: Organization) -> None:
    org.monthly_job_limit = 0
    org.save(update_fields=["monthly_job_limit"])
    response = pinned.post(
        f"/api/v1/deals/{deal_id}/statements",
        {"file": SimpleUploadedFile("s.csv", b"date,description,amount\n2024-01-02,Sale,10.00\n")},
        format="multipart",
    )
    assert (response.status_code, response.content) == (
        402,
        envelope(
            "quota_exceeded",
            "This organisation has used 0 of its 0 jobs this month; 1 more requested, 0 left.",
        ),
    )


def test_every_kind_of_domain_error_has_a_client_error_status() -> None:
    kinds = [
        kind
        for kind in vars(errors).values()
        if isinstance(kind, type) and issubclass(kind, errors.DomainError) and kind is not errors.DomainError
    ]
    assert sorted(kind.__name__ for kind in kinds) == sorted(kind.__name__ for kind in STATUS_OF)
    assert all(400 <= status_of(kind("x")) < 500 for kind in kinds)


def test_a_domain_error_of_an_app_takes_the_status_of_its_kind() -> None:
    class Refused(errors.DomainError):
        pass

    class RefusedInput(Refused, errors.Invalid):
        pass

    assert status_of(RefusedInput("x", "refused")) == 400
    with pytest.raises(TypeError):
        status_of(Refused("x"))


def test_outside_drf_a_domain_error_gets_the_same_envelope() -> None:
    token = request_id_var.set(REQUEST_ID)
    try:
        exc = errors.Conflict("Taken.", "taken", fields={"name": ["Taken."]})
        plain = domain_error_response(exc)
        drf = exception_handler(exc, {"view": None, "request": None})
    finally:
        request_id_var.reset(token)
    assert drf is not None
    assert plain.status_code == drf.status_code == 409
    assert (
        plain.content
        == b'{"error": {"code": "taken", "message": "Taken.", "fields": {"name": ["Taken."]}}, "request_id": "req_pinned"}'
    )
    assert drf.data == {
        "error": {"code": "taken", "message": "Taken.", "fields": {"name": ["Taken."]}},
        "request_id": REQUEST_ID,
    }
