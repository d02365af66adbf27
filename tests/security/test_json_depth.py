"""Finding 9: deeply nested JSON is refused with a clear 400 on every endpoint that reads
JSON, never a 500 (the json module recurses once per level)."""

from __future__ import annotations

import base64
import json

import pytest

from accounts.models import Organization
from deals.models import Deal
from tests.security.asgi_client import call

# Past the interpreter's recursion limit, and just past the depth limit (32) but well
# within the recursion limit: both must be refused the same way.
TOO_DEEP = [
    b"[" * 50_000 + b"]" * 50_000,
    json.dumps({"business_name": "Nested", "x": json.loads("[" * 40 + "]" * 40)}).encode(),
]


def _json_endpoints(deal_id: int) -> list[str]:
    return [
        "/api/v1/deals",
        f"/api/v1/deals/{deal_id}/decision",
        "/api/v1/value-decision",
        "/api/v1/value-decision/stream",
    ]


def _assert_clear_400(status: int, body: bytes) -> None:
    assert status == 400, body
    error = json.loads(body)["error"]
    assert error["code"] in {"malformed_request", "invalid_payload"}
    assert "nests objects or arrays deeper than 32 levels" in error["message"]


@pytest.mark.parametrize("nested", TOO_DEEP, ids=["past-recursion-limit", "past-depth-limit"])
@pytest.mark.django_db(transaction=True)
def test_it_refuses_deeply_nested_json_with_400(api_key: str, org: Organization, nested: bytes) -> None:
    deal = Deal.objects.create(organization=org, business_name="Nested Ltd")
    headers = {"authorization": f"Bearer {api_key}", "content-type": "application/json"}

    for path in _json_endpoints(deal.pk):
        response = call("POST", path, headers=headers, body=nested)
        _assert_clear_400(response.status, response.body)

    # The EventSource variant carries its JSON base64-encoded in the query string.
    shallow_enough_to_send = b"[" * 5_000 + b"]" * 5_000
    payload = base64.urlsafe_b64encode(shallow_enough_to_send).decode()
    response = call(
        "GET",
        "/api/v1/value-decision/stream-get",
        query=f"payload={payload}",
        headers={"authorization": f"Bearer {api_key}"},
    )
    _assert_clear_400(response.status, response.body)


def test_it_accepts_json_nested_within_the_limit() -> None:
    from api.parsers import load_json_body

    data = load_json_body(("[" * 32 + "]" * 32).encode())
    assert isinstance(data, list)
