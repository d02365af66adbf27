"""Stream opens find their API key in the cache, and a revoked or changed key is refused at once."""

from __future__ import annotations

from typing import Any

import pytest

from accounts.auth import AuthError
from accounts.models import ApiKey, hash_key
from events import keycache
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
