"""The authentication matrix of spec §3–§4, on a read endpoint and a write endpoint."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import ApiKey, Organization

READ_URL = "/api/v1/events/log"
WRITE_URL = "/api/v1/deals"


def _client(raw: str | None = None, header: str | None = None) -> APIClient:
    client = APIClient()
    if header is not None:
        client.credentials(HTTP_AUTHORIZATION=header)
    elif raw is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


def _assert_error(response: object, status: int, code: str) -> None:
    assert response.status_code == status, response.content  # type: ignore[attr-defined]
    assert response["Content-Type"].startswith("application/json")  # type: ignore[index]
    body = response.json()  # type: ignore[attr-defined]
    assert body["error"]["code"] == code
    assert body["error"]["message"]
    assert body["request_id"] == response["X-Request-ID"]  # type: ignore[index]


def test_it_accepts_a_valid_key(api: APIClient) -> None:
    assert api.get(READ_URL).status_code == 200


def test_it_refuses_a_missing_key(anon: APIClient) -> None:
    response = anon.get(READ_URL)
    _assert_error(response, 401, "unauthenticated")
    assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    ("header", "code"),
    [
        ("Bearer", "invalid_authorization"),
        ("Basic dXNlcjpwYXNz", "invalid_authorization"),
        ("Token dsk_live_abc", "invalid_authorization"),
        ("Bearer not-a-key", "invalid_api_key"),
        ("Bearer dsk_live_" + "x" * 200, "invalid_api_key"),
    ],
)
def test_it_refuses_a_malformed_key(db: None, header: str, code: str) -> None:
    _assert_error(_client(header=header).get(READ_URL), 401, code)


def test_it_refuses_an_unknown_key(db: None) -> None:
    _assert_error(_client("dsk_live_" + "A" * 32).get(READ_URL), 401, "invalid_api_key")


def test_it_refuses_a_revoked_key(org: Organization, make_key: Callable[..., str]) -> None:
    raw = make_key(org)
    ApiKey.objects.filter(organization=org).update(revoked_at=timezone.now())
    _assert_error(_client(raw).get(READ_URL), 401, "api_key_revoked")


def test_it_refuses_an_expired_key(org: Organization, make_key: Callable[..., str]) -> None:
    raw = make_key(org, expires_at=timezone.now() - timedelta(minutes=1))
    _assert_error(_client(raw).get(READ_URL), 401, "api_key_expired")


def test_a_read_only_key_cannot_post(org: Organization, make_key: Callable[..., str]) -> None:
    raw = make_key(org, scopes=["read"])
    client = _client(raw)
    assert client.get(READ_URL).status_code == 200
    _assert_error(client.post(WRITE_URL, {"business_name": "Acme"}, format="json"), 403, "insufficient_scope")


@pytest.mark.parametrize("param", ["token", "api_key"])
def test_a_key_in_the_query_string_is_refused_outside_streams(api_key: str, param: str) -> None:
    response = APIClient().get(f"{READ_URL}?{param}={api_key}")
    _assert_error(response, 401, "key_in_query_string")
    assert "query string" in response.json()["error"]["message"]


def test_it_records_last_use(org: Organization, make_key: Callable[..., str]) -> None:
    raw = make_key(org)
    assert ApiKey.objects.get(organization=org).last_used_at is None
    _client(raw).get(READ_URL)
    assert ApiKey.objects.get(organization=org).last_used_at is not None
