"""Findings 1 and 4: API keys never reach a log line, whatever field carries them and
however the request spells the parameter, in both log formats."""

from __future__ import annotations

import logging
import sys
from typing import Any

import pytest
from django.test import RequestFactory
from django.views.debug import get_exception_reporter_class
from uvicorn.protocols.utils import get_path_with_query_string

from tests.log_leaks import leaked_keys
from tests.security.asgi_client import call
from tests.security.conftest import LogOutput


def _assert_no_key(output: LogOutput, key: str) -> None:
    text = output.text
    assert text, "nothing was logged: the test would prove nothing"
    assert key[9:] not in text
    assert not leaked_keys(text), text


@pytest.mark.django_db(transaction=True)
def test_it_keeps_keys_out_of_the_request_logger_extras(api_key: str, log_output: LogOutput) -> None:
    # A 4xx of a stream carrying ?token=: Django's request logger passes the request
    # itself as an extra, which the JSON format prints.
    response = call("GET", "/api/v1/events/deals/999999", query=f"token={api_key}")
    assert response.status == 404
    # A refused key (read-only key on a write, here: a key in the query of a non-stream).
    refused = call("GET", "/api/v1/deals", query=f"api_key={api_key}")
    assert refused.status == 401
    # An error logged with a traceback and an extra holding the key.
    try:
        raise ValueError(f"could not open /api/v1/events?token={api_key}")
    except ValueError:
        logging.getLogger("dealstream.test").exception(
            "Failed for %s",
            f"/api/v1/events?token={api_key}",
            extra={"context": {"url": f"?token={api_key}"}},
        )

    assert "Not Found: /api/v1/events/deals/999999" in log_output.text
    assert "Failed for /api/v1/events?token=[redacted]" in log_output.text
    if log_output.format == "json":
        assert (
            '"request": "<ASGIRequest: GET /api/v1/events/deals/999999?token=[redacted]>"' in log_output.text
        )
    _assert_no_key(log_output, api_key)


def _access_log(scope: dict[str, Any], status: int) -> None:
    # The access line exactly as uvicorn writes it: the raw, percent-encoded query string.
    logging.getLogger("uvicorn.access").info(
        '%s - "%s %s HTTP/%s" %d',
        "127.0.0.1:50000",
        "GET",
        get_path_with_query_string(scope),  # type: ignore[arg-type]
        "1.1",
        status,
    )


@pytest.mark.parametrize(
    "query",
    [
        "api%5Fkey={encoded}",
        "api%5fkey={encoded}&x=1",
        "%74oken={encoded}",
        "api%255Fkey={double}",
        "x=1;api_key={encoded}",
    ],
)
@pytest.mark.django_db(transaction=True)
def test_it_redacts_percent_encoded_key_parameters(api_key: str, log_output: LogOutput, query: str) -> None:
    encoded = api_key.replace("_", "%5F")
    double = api_key.replace("_", "%255F")
    query = query.format(encoded=encoded, double=double)

    # The key authenticates (Django decodes the name), the deal does not exist: a logged 404.
    response = call("GET", "/api/v1/events/deals/999999", query=query)
    assert response.status in (401, 404)
    _access_log({"path": "/api/v1/events/deals/999999", "query_string": query.encode()}, response.status)

    assert "/api/v1/events/deals/999999" in log_output.text
    assert "[redacted]" in log_output.text
    _assert_no_key(log_output, api_key)


def test_it_keeps_keys_out_of_error_reports(api_key: str) -> None:
    request = RequestFactory().get(f"/api/v1/events?token={api_key}&api%5Fkey={api_key}&page=2")
    raw = api_key  # a local variable holding a key, as in accounts.auth
    try:
        raise RuntimeError(f"refused {raw}")
    except RuntimeError:
        reporter_class: Any = get_exception_reporter_class(request)
        reporter = reporter_class(request, *sys.exc_info())
        reports = [reporter.get_traceback_text(), reporter.get_traceback_html()]

    for report in reports:
        assert "refused dsk_live_" in report  # the report is there, with the key's prefix only
        assert api_key[9:] not in report
        assert not leaked_keys(report)
