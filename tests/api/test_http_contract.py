"""Cross-cutting behaviour of spec §4: request ids, version headers, JSON errors, rate limits."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

import psycopg
import pytest
from django.test import Client
from rest_framework.test import APIClient

from accounts.models import ApiKey, Organization

READ_URL = "/api/v1/events/log"


def test_it_generates_a_request_id_and_version_headers(api: APIClient, settings: object) -> None:
    response = api.get(READ_URL)
    assert response["X-Request-ID"].startswith("req_")
    assert response["X-Scorer-Version"] == settings.SCORER_VERSION  # type: ignore[attr-defined]
    assert response["X-App-Env"] == settings.APP_ENV  # type: ignore[attr-defined]


def test_it_echoes_the_callers_request_id(api: APIClient) -> None:
    response = api.get(READ_URL, HTTP_X_REQUEST_ID="abc-123")
    assert response["X-Request-ID"] == "abc-123"


def test_it_accepts_a_correlation_id_and_echoes_it_under_both_names(api: APIClient) -> None:
    response = api.get(READ_URL, HTTP_X_CORRELATION_ID="corr-42")
    assert response["X-Request-ID"] == "corr-42"
    assert response["X-Correlation-ID"] == "corr-42"


def test_it_replaces_an_unsafe_request_id(api: APIClient) -> None:
    response = api.get(READ_URL, HTTP_X_REQUEST_ID="bad id\twith spaces" + "x" * 300)
    assert response["X-Request-ID"].startswith("req_")


def test_every_response_carries_the_headers_even_errors_and_health(db: None) -> None:
    client = Client()
    for url in ("/healthz", "/api/v1/nope", "/api/v1/events/log"):
        response = client.get(url)
        assert response["X-Scorer-Version"]
        assert response["X-App-Env"]
        assert response["X-Request-ID"]


def test_unknown_api_routes_are_json_404(api: APIClient) -> None:
    for method in ("get", "post", "delete"):
        response = getattr(api, method)("/api/v1/definitely/not/here")
        assert response.status_code == 404
        assert response["Content-Type"] == "application/json"
        assert response.json()["error"]["code"] == "not_found"


def test_malformed_json_is_a_400_envelope(api: APIClient) -> None:
    response = api.post("/api/v1/deals", data="{not json", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "malformed_request"


def test_wrong_types_are_a_400_with_field_messages(api: APIClient) -> None:
    response = api.post("/api/v1/deals", {"business_name": ["not", "a", "string"]}, format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["error"]["code"] == "invalid_request"
    assert "business_name" in body["error"]["fields"]


def test_unsupported_media_type_is_415(api: APIClient) -> None:
    response = api.post("/api/v1/deals", data="<deal/>", content_type="application/xml")
    assert response.status_code == 415
    assert response.json()["error"]["code"] == "unsupported_media_type"


def test_method_not_allowed_is_json(api: APIClient) -> None:
    response = api.put(READ_URL, {}, format="json")
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"


def test_invalid_query_parameters_are_400(api: APIClient) -> None:
    response = api.get(READ_URL + "?after=abc")
    assert response.status_code == 400
    assert "after" in response.json()["error"]["fields"]


def test_every_api_response_carries_rate_limit_headers(api: APIClient) -> None:
    response = api.get(READ_URL)
    assert response["X-RateLimit-Limit"] == "60"
    assert response["X-RateLimit-Remaining"] == "59"
    assert int(response["X-RateLimit-Reset"]) > 0


def test_over_the_limit_is_429_with_retry_after(org: Organization, make_key: Callable[..., str]) -> None:
    raw = make_key(org)
    ApiKey.objects.filter(organization=org).update(rate_limit_per_minute=3)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    statuses = [client.get(READ_URL).status_code for _ in range(3)]
    assert statuses == [200, 200, 200]
    response = client.get(READ_URL)
    assert response.status_code == 429
    assert response.json()["error"]["code"] == "rate_limited"
    assert 1 <= int(response["Retry-After"]) <= 60
    assert response["X-RateLimit-Remaining"] == "0"
    assert response["X-RateLimit-Limit"] == "3"


def test_rate_limits_are_per_key(org: Organization, make_key: Callable[..., str]) -> None:
    first, second = make_key(org, name="a"), make_key(org, name="b")
    ApiKey.objects.filter(organization=org).update(rate_limit_per_minute=1)
    a, b = APIClient(), APIClient()
    a.credentials(HTTP_AUTHORIZATION=f"Bearer {first}")
    b.credentials(HTTP_AUTHORIZATION=f"Bearer {second}")
    assert a.get(READ_URL).status_code == 200
    assert a.get(READ_URL).status_code == 429
    assert b.get(READ_URL).status_code == 200


@pytest.mark.parametrize("url", ["/api/schema/", "/api/docs/"])
def test_openapi_schema_and_docs_are_served(db: None, url: str) -> None:
    response = Client().get(url)
    assert response.status_code == 200


def _database_error(cause: Exception) -> Exception:
    """The OperationalError Django raises for a driver's error (the driver's as its cause)."""
    from django.db import OperationalError

    error = OperationalError(str(cause))
    error.__cause__ = cause
    return error


@pytest.mark.parametrize(
    "cause",
    [
        psycopg.errors.DeadlockDetected("deadlock detected"),
        psycopg.errors.SerializationFailure("could not serialize access"),
        psycopg.OperationalError("server closed the connection unexpectedly"),
        sqlite3.OperationalError("database is locked"),
    ],
    ids=["deadlock", "serialization", "connection-lost", "sqlite-locked"],
)
def test_a_transient_database_error_is_a_503_with_retry_after(
    api: APIClient, monkeypatch: pytest.MonkeyPatch, cause: Exception
) -> None:
    from deals import services
    from deals.models import Deal

    def failing(*args: object, **kwargs: object) -> None:
        raise _database_error(cause)

    monkeypatch.setattr(services, "create_deal", failing)
    response = api.post("/api/v1/deals", {"business_name": "Bolt Logistics"}, format="json")
    assert response.status_code == 503
    assert response["Retry-After"] == "1"
    assert response.json()["error"]["code"] == "temporarily_unavailable"
    assert response["X-RateLimit-Limit"]
    assert not Deal.objects.exists()


def test_a_database_error_that_will_not_go_away_stays_a_500(
    api: APIClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from deals import services

    def failing(*args: object, **kwargs: object) -> None:
        raise _database_error(sqlite3.OperationalError("no such table: deals_deal"))

    monkeypatch.setattr(services, "create_deal", failing)
    response = api.post("/api/v1/deals", {"business_name": "Bolt Logistics"}, format="json")
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "internal_error"


def test_refusals_carry_rate_limit_headers_too(
    org: Organization, make_key: Callable[..., str], anon: APIClient
) -> None:
    unauthenticated = anon.get(READ_URL)
    assert unauthenticated.status_code == 401
    assert unauthenticated["X-RateLimit-Limit"] == "60"
    assert unauthenticated["X-RateLimit-Remaining"] == "59"
    read_only = APIClient()
    read_only.credentials(HTTP_AUTHORIZATION=f"Bearer {make_key(org, scopes=['read'])}")
    forbidden = read_only.post("/api/v1/deals", {"business_name": "Bolt"}, format="json")
    assert forbidden.status_code == 403
    assert forbidden.json()["error"]["code"] == "insufficient_scope"
    assert forbidden["X-RateLimit-Remaining"] == "59"  # counted against the key, once


def test_refused_credentials_are_limited_per_address_not_per_key(
    api: APIClient, settings: object, make_key: Callable[..., str], org: Organization
) -> None:
    settings.RATE_LIMIT_UNAUTHENTICATED_PER_MINUTE = 3  # type: ignore[attr-defined]
    guesser = APIClient(REMOTE_ADDR="203.0.113.9")
    guesser.credentials(HTTP_AUTHORIZATION="Bearer dsk_live_" + "x" * 43)
    statuses = [guesser.get(READ_URL).status_code for _ in range(4)]
    assert statuses == [401, 401, 401, 429]
    limited = guesser.get(READ_URL)
    assert limited.json()["error"]["code"] == "rate_limited"
    assert 1 <= int(limited["Retry-After"]) <= 60
    # Another address is not affected, and neither is a valid key.
    assert APIClient(REMOTE_ADDR="203.0.113.10").get(READ_URL).status_code == 401
    assert api.get(READ_URL).status_code == 200
    valid_from_that_address = APIClient(REMOTE_ADDR="203.0.113.9")
    valid_from_that_address.credentials(HTTP_AUTHORIZATION=f"Bearer {make_key(org, name='other')}")
    assert valid_from_that_address.get(READ_URL).status_code == 200
