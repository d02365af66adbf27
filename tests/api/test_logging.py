"""Keys never reach the logs: not in messages, not in query strings, not in access lines."""

from __future__ import annotations

import io
import logging

import pytest
from django.test import Client
from rest_framework.test import APIClient

from api.logging import RedactSecretsFilter, redact

KEY = "dsk_live_AbCdEfGh1234567890abcdefghijklmnop"


@pytest.mark.parametrize(
    "text",
    [
        f"GET /api/v1/events?token={KEY} HTTP/1.1",
        f"GET /api/v1/events?foo=1&api_key={KEY}",
        f"Authorization: Bearer {KEY}",
        f"the key {KEY} leaked",
        f"GET /x?token={KEY[:20]}",
    ],
)
def test_redact_removes_keys(text: str) -> None:
    cleaned = redact(text)
    assert KEY not in cleaned
    assert KEY[9:20] not in cleaned


def test_redact_keeps_the_prefix_for_debugging() -> None:
    assert "dsk_live_AbCdEfGh" in redact(f"key {KEY} used")


def test_the_filter_scrubs_formatted_arguments() -> None:
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s"',
        ("1.2.3.4", "GET", f"/?api_key={KEY}"),
        None,
    )
    RedactSecretsFilter().filter(record)
    assert KEY not in record.getMessage()


def test_request_logs_never_contain_a_key(api_key: str) -> None:
    # The configured console handler, with its filters, writing into a buffer.
    handler = next(h for h in logging.getLogger().handlers if isinstance(h, logging.StreamHandler))
    buffer = io.StringIO()
    previous = handler.setStream(buffer)
    try:
        APIClient().get(f"/api/v1/events/log?token={api_key}")
        Client().get(f"/api/v1/nowhere?api_key={api_key}")
        logging.getLogger("django.request").warning("Seen %s", f"/x?token={api_key}")
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {api_key}x")
        client.get("/api/v1/events/log")
    finally:
        handler.setStream(previous)
    output = buffer.getvalue()
    assert "Not Found: /api/v1/nowhere" in output
    assert "Seen /x?token=[redacted]" in output
    assert api_key not in output
    assert api_key[9:] not in output
