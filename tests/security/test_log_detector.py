"""The detector every run's log output passes through (tests/conftest.py) sees the records
and catches a key in any spelling: the session check cannot pass by seeing nothing."""

from __future__ import annotations

import logging

import pytest

from tests.conftest import LOG_KEY_DETECTOR
from tests.log_leaks import KeyLeakDetector, console_handlers, leaked_keys

KEY = "dsk_live_Pl4ntedKeyAbCdEfGhIjKlMnOpQrStUv"


@pytest.mark.parametrize(
    "line",
    [
        f"GET /api/v1/events?token={KEY}",
        f'{{"message": "x", "request": "<ASGIRequest: GET /?api_key={KEY}>"}}',
        "GET /api/v1/events?api%5Fkey=" + KEY.replace("_", "%5F"),
        "GET /api/v1/events?api%5Fkey=" + KEY.replace("_", "%5f"),
        "GET /?token=" + KEY.replace("_", "%255F"),
        "form body: token=" + KEY.replace("_", "%5F") + "+&x=1",
        KEY.replace("live", "test"),
    ],
)
def test_it_detects_a_planted_key_in_any_spelling(line: str) -> None:
    assert leaked_keys(line)


def test_it_leaves_the_readable_prefix_alone() -> None:
    assert not leaked_keys("key dsk_live_Pl4ntedK…[redacted] used, prefix dsk_live_Pl4ntedK")


def test_it_catches_a_key_a_handler_would_print_without_redaction() -> None:
    # A fresh detector behind no redaction filter: the planted key must be reported in
    # both formats (the session's detector sits behind the real filters).
    detector = KeyLeakDetector()
    record = logging.LogRecord("x", logging.WARNING, __file__, 1, "opened %s", (f"/?token={KEY}",), None)
    record.request_id = record.org = record.key_prefix = "-"
    detector.filter(record)
    assert {log_format for log_format, _ in detector.leaks} == {"text", "json"}


def test_it_watches_every_configured_handler() -> None:
    handlers = console_handlers()
    assert handlers
    assert all(LOG_KEY_DETECTOR in handler.filters for handler in handlers)
    # Behind the redaction filter: it sees the record, and the record is clean by then.
    seen = LOG_KEY_DETECTOR.records_seen
    leaks = len(LOG_KEY_DETECTOR.leaks)
    logging.getLogger("django.request").warning("Not Found: %s", f"/api/v1/events?token={KEY}")
    logging.getLogger("uvicorn.access").info('%s - "%s %s"', "1.2.3.4", "GET", f"/?api%5Fkey={KEY}")
    assert LOG_KEY_DETECTOR.records_seen == seen + 2
    assert len(LOG_KEY_DETECTOR.leaks) == leaks


def test_it_checks_what_started_processes_wrote() -> None:
    detector = KeyLeakDetector()
    detector.inspect_output(
        "web-uvicorn", f'INFO: 127.0.0.1 - "GET /api/v1/events?token={KEY} HTTP/1.1" 200\nok'
    )
    detector.inspect_output(
        "web-uvicorn", 'INFO: 127.0.0.1 - "GET /api/v1/events?token=[redacted] HTTP/1.1" 200'
    )
    assert [source for source, _ in detector.leaks] == ["web-uvicorn"]
