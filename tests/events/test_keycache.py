"""Stream opens find their API key in the cache, and a revoked or changed key is refused at once."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.auth import AuthError
from accounts.models import ApiKey, Organization, hash_key
from events import keycache, sse
from events.keycache import authenticate_stream_key
from tests.security.asgi_client import call

pytestmark = pytest.mark.django_db(transaction=True)


def stored(raw_key: str) -> ApiKey:
    return ApiKey.objects.get(key_hash=hash_key(raw_key))


def test_a_key_seen_once_is_found_without_the_database(api_key: str, django_assert_num_queries: Any) -> None:
    first = authenticate_stream_key(api_key)

    with django_assert_num_queries(0):
        again = authenticate_stream_key(api_key)

    assert again.pk == first.pk
    assert again.organization_id == first.organization_id


def test_a_revoked_key_is_refused_at_once(api_key: str) -> None:
    authenticate_stream_key(api_key)  # cached

    stored(api_key).revoke()

    with pytest.raises(AuthError) as refused:
        authenticate_stream_key(api_key)
    assert refused.value.code == "api_key_revoked"


def test_a_revoked_key_cannot_open_a_stream(api_key: str) -> None:
    headers = {"Authorization": f"Bearer {api_key}"}
    assert call("GET", "/api/v1/events", headers=headers, until=lambda body: b"retry:" in body).status == 200

    stored(api_key).revoke()

    refused = call("GET", "/api/v1/events", headers=headers)
    assert refused.status == 401
    assert refused.json()["error"]["code"] == "api_key_revoked"


def test_a_changed_scope_applies_to_the_next_open(api_key: str) -> None:
    authenticate_stream_key(api_key)
    key = stored(api_key)
    key.scopes = []
    key.save()

    assert authenticate_stream_key(api_key).scopes == []


def test_a_deleted_key_is_refused(api_key: str) -> None:
    authenticate_stream_key(api_key)

    stored(api_key).delete()

    with pytest.raises(AuthError) as refused:
        authenticate_stream_key(api_key)
    assert refused.value.code == "invalid_api_key"


def test_a_lookup_that_read_the_row_before_a_revocation_cannot_cache_it(api_key: str) -> None:
    before = stored(api_key)  # what a lookup racing the revocation read
    stored(api_key).revoke()  # drops the entry, leaving its marker

    keycache._store(keycache._cache_key(hash_key(api_key)), before, only_if_absent=True)

    with pytest.raises(AuthError) as refused:
        authenticate_stream_key(api_key)
    assert refused.value.code == "api_key_revoked"


@pytest.fixture
def thread_lookups(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Each stream open whose caller was decided on a worker thread (not from the cache on the loop)."""
    calls: list[str] = []
    decide = sse._identify_and_count

    def counted(request: Any) -> Any:
        calls.append(request.path)
        return decide(request)

    monkeypatch.setattr(sse, "_identify_and_count", counted)
    return calls


def test_a_cached_key_is_counted_without_a_thread_on_the_api_counter(
    api_key: str, thread_lookups: list[str], api: APIClient
) -> None:
    ApiKey.objects.filter(key_hash=hash_key(api_key)).update(rate_limit_per_minute=4)
    headers = {"Authorization": f"Bearer {api_key}"}
    opened = [
        call("GET", "/api/v1/events", headers=headers, until=lambda body: b"retry:" in body) for _ in range(2)
    ]
    assert [o.status for o in opened] == [200, 200]
    if settings.REDIS_URL:
        assert len(thread_lookups) == 1  # the first open found no entry; the second read it on the loop

    # The REST API counts on the same counter: two opens, then this request, of four.
    assert api.get("/api/v1/events/log")["X-RateLimit-Remaining"] == "1"
    assert call("GET", "/api/v1/events", headers=headers, until=lambda body: b"retry:" in body).status == 200
    limited = call("GET", "/api/v1/events", headers=headers)
    assert limited.status == 429
    assert limited.json()["error"]["code"] == "rate_limited"


def test_a_cached_key_that_expired_is_refused(org: Organization, make_key: Callable[..., str]) -> None:
    expires_at = timezone.now() + timedelta(seconds=1)
    raw = make_key(org, expires_at=expires_at)
    headers = {"Authorization": f"Bearer {raw}"}
    assert call("GET", "/api/v1/events", headers=headers, until=lambda body: b"retry:" in body).status == 200

    # Expiry comes with time, not with a change to the row: the cached entry stays, and is refused.
    time.sleep(max(0.0, (expires_at - timezone.now()).total_seconds()) + 0.05)
    refused = call("GET", "/api/v1/events", headers=headers)
    assert refused.status == 401
    assert refused.json()["error"]["code"] == "api_key_expired"
