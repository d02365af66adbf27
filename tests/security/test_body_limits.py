"""Findings 5 and 6: request bodies are capped per route before Django reads (and spools)
them: 413 on a declared Content-Length, and a chunked body is cut off at the cap."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator

import pytest

from accounts.models import Organization
from deals.models import Deal
from tests.security.asgi_client import call

MB = 1024 * 1024


def endless(chunk_size: int = 64 * 1024) -> Iterator[bytes]:
    return itertools.repeat(b"x" * chunk_size)


@pytest.mark.django_db(transaction=True)
def test_it_refuses_an_oversized_upload_before_reading_it(api_key: str) -> None:
    # Declared: answered from the headers alone, without authentication or a byte read.
    declared = call(
        "POST",
        "/api/v1/deals/1/statements",
        headers={"content-length": str(25 * MB), "content-type": "multipart/form-data; boundary=x"},
        chunks=endless(),
    )
    assert declared.status == 413
    assert declared.json()["error"]["code"] == "upload_too_large"
    assert declared.body_bytes_read == 0
    assert declared.headers["x-request-id"].startswith("req_")

    # Chunked, unauthenticated, endless: cut off just past the 20 MB cap, never spooled in full.
    chunked = call("POST", "/api/v1/batches", chunks=endless(), headers={"content-type": "application/zip"})
    assert chunked.status == 413
    assert chunked.json()["error"]["code"] == "upload_too_large"
    assert 100 * MB < chunked.body_bytes_read <= 101 * MB  # a batch takes 5 files of MAX_UPLOAD_MB

    single = call("POST", "/api/v1/deals/1/statements", chunks=endless())
    assert single.status == 413
    assert 20 * MB < single.body_bytes_read <= 21 * MB

    # Under the cap the request reaches the application as before.
    small = call(
        "POST",
        "/api/v1/deals/999999/statements",
        headers={"authorization": f"Bearer {api_key}", "content-type": "multipart/form-data; boundary=x"},
        body=b"--x--\r\n",
    )
    assert small.status == 400  # the application itself looked at it: the file field is missing
    assert small.json()["error"]["fields"]


@pytest.mark.parametrize("chunked", [False, True], ids=["declared", "chunked"])
@pytest.mark.django_db(transaction=True)
def test_it_caps_json_bodies(api_key: str, org: Organization, chunked: bool) -> None:
    headers = {"authorization": f"Bearer {api_key}", "content-type": "application/json"}
    body = json.dumps({"business_name": "Big Body Ltd", "notes": "x" * (3 * MB)}).encode()
    step = 256 * 1024
    pieces = (body[i : i + step] for i in range(0, len(body), step))

    response = call("POST", "/api/v1/deals", headers=headers, chunks=pieces if chunked else None, body=body)

    assert response.status == 413
    error = response.json()["error"]
    assert error["code"] == "payload_too_large"
    assert "2 MB" in error["message"]
    assert response.body_bytes_read <= (2 * MB + step if chunked else 0)
    assert not Deal.objects.filter(organization=org).exists()

    # A body of ordinary size still creates the deal.
    ok = call(
        "POST", "/api/v1/deals", headers=headers, body=json.dumps({"business_name": "Small Ltd"}).encode()
    )
    assert ok.status == 201, ok.body
