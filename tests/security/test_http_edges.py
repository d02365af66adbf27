"""The "also seen" findings: bad Host headers, wrong methods on operator endpoints, and what
a resume position reveals."""

from __future__ import annotations

import json
from typing import Any

import pytest

from accounts.models import Organization
from events.publish import publish_event
from tests.security.asgi_client import call
from tests.security.conftest import LogOutput


def test_it_logs_a_bad_host_header_as_a_warning_without_traceback(log_output: LogOutput) -> None:
    response = call("GET", "/healthz", host="attacker.example")

    assert response.status == 400
    lines = [line for line in log_output.text.splitlines() if "Invalid HTTP_HOST header" in line]
    assert len(lines) == 1, log_output.text
    if log_output.format == "json":
        record = json.loads(lines[0])
        assert record["levelname"] == "WARNING"
        assert "exc_info" not in record
    else:
        assert " WARNING django.security.DisallowedHost " in lines[0]
    assert "Traceback" not in log_output.text
    assert " ERROR " not in log_output.text
    assert '"ERROR"' not in log_output.text


@pytest.mark.parametrize("path", ["/healthz", "/status", "/metrics"])
@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE"])
@pytest.mark.django_db(transaction=True)
def test_it_answers_405_to_other_methods_on_operator_endpoints(api_key: str, path: str, method: str) -> None:
    response = call(method, path, headers={"authorization": f"Bearer {api_key}"})

    assert response.status == 405, response.body
    assert response.json()["error"]["code"] == "method_not_allowed"
    assert response.headers["allow"] == "GET, HEAD"


def _resume(key: str, last_event_id: int) -> bytes:
    response = call(
        "GET",
        "/api/v1/events",
        headers={"authorization": f"Bearer {key}", "last-event-id": str(last_event_id)},
        # A reset comes first; otherwise the stream idles until its first heartbeat.
        until=lambda body: b"stream.reset" in body or b"heartbeat" in body,
    )
    assert response.status == 200
    return response.body


@pytest.mark.django_db(transaction=True)
def test_it_plans_a_resume_from_the_callers_organisation_only(
    org: Organization, other_org: Organization, make_key: Any, settings: Any
) -> None:
    settings.SSE_HEARTBEAT_SECONDS = 0.2
    key = make_key(org)
    data = {"deal_id": 1, "business_name": "Mine", "created_by": "test"}
    own = [publish_event(org.pk, "deal.created", data).id for _ in range(2)]
    others = [publish_event(other_org.pk, "deal.created", {**data, "deal_id": 2}).id for _ in range(5)]
    assert own[-1] < others[-1]

    # A position past this organisation's newest event is unknown, whether or not other
    # tenants have published that many events since: the answer is the same either way.
    between = _resume(key, own[-1] + 1)
    beyond = _resume(key, others[-1] + 1000)
    assert b'"reason":"last_event_id_unknown"' in between
    assert b'"reason":"last_event_id_unknown"' in beyond
    # A position the caller really holds resumes without a reset.
    assert b"stream.reset" not in _resume(key, own[-1])
