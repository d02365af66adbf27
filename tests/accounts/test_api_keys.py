"""API keys: format, hashing, scopes, revocation, expiry and the management commands."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from accounts.models import ApiKey, Organization, hash_key


def test_it_creates_keys_with_enough_randomness_and_stores_only_a_hash(org: Organization) -> None:
    key, raw = ApiKey.create_key(org, name="ci")
    assert raw.startswith("dsk_live_")
    # token_urlsafe(24) is 32 characters of base64url: 192 bits.
    assert len(raw) - len("dsk_live_") == 32
    stored = ApiKey.objects.get(pk=key.pk)
    assert stored.key_hash == hash_key(raw)
    assert raw not in {stored.prefix, stored.key_hash, stored.name}
    assert raw.startswith(stored.prefix)
    assert len(stored.prefix) == len("dsk_live_") + 8


def test_it_creates_test_keys(org: Organization) -> None:
    _, raw = ApiKey.create_key(org, name="sandbox", live=False)
    assert raw.startswith("dsk_test_")


def test_it_never_creates_the_same_key_twice(org: Organization) -> None:
    raws = {ApiKey.create_key(org, name=f"k{i}")[1] for i in range(20)}
    assert len(raws) == 20


def test_createapikey_prints_the_key_alone_and_creates_the_org(db: None) -> None:
    out = io.StringIO()
    call_command("createapikey", "--org", "New Org", "--name", "ci", "--scopes", "read", stdout=out)
    raw = out.getvalue().strip()
    assert "\n" not in raw
    key = ApiKey.objects.get(key_hash=hash_key(raw))
    assert key.organization.name == "New Org"
    assert key.scopes == ["read"]
    assert key.name == "ci"


def test_createapikey_rejects_unknown_scopes(db: None) -> None:
    with pytest.raises(CommandError, match="Scopes"):
        call_command("createapikey", "--org", "X", "--scopes", "admin", stdout=io.StringIO())


def test_revokeapikey_revokes_by_prefix(org: Organization) -> None:
    key, _ = ApiKey.create_key(org, name="ci")
    call_command("revokeapikey", key.prefix, stdout=io.StringIO())
    key.refresh_from_db()
    assert key.revoked_at is not None
    assert not key.is_usable


def test_revokeapikey_accepts_the_full_key(org: Organization) -> None:
    key, raw = ApiKey.create_key(org, name="ci")
    call_command("revokeapikey", raw, stdout=io.StringIO())
    key.refresh_from_db()
    assert key.revoked_at is not None


def test_revokeapikey_fails_for_an_unknown_prefix(db: None) -> None:
    with pytest.raises(CommandError, match="No API key"):
        call_command("revokeapikey", "dsk_live_nothere1", stdout=io.StringIO())


def test_it_writes_last_used_at_at_most_once_a_minute(org: Organization) -> None:
    key, _ = ApiKey.create_key(org, name="ci")
    key.touch()
    first = ApiKey.objects.get(pk=key.pk).last_used_at
    assert first is not None
    fresh = ApiKey.objects.get(pk=key.pk)
    fresh.touch()
    assert ApiKey.objects.get(pk=key.pk).last_used_at == first
    ApiKey.objects.filter(pk=key.pk).update(last_used_at=timezone.now() - timedelta(minutes=2))
    stale = ApiKey.objects.get(pk=key.pk)
    stale.touch()
    touched = ApiKey.objects.get(pk=key.pk).last_used_at
    assert touched is not None
    assert touched > first


def test_usable_excludes_revoked_and_expired(org: Organization) -> None:
    good, _ = ApiKey.create_key(org, name="good")
    revoked, _ = ApiKey.create_key(org, name="revoked")
    revoked.revoke()
    ApiKey.create_key(org, name="expired", expires_at=timezone.now() - timedelta(seconds=1))
    assert list(ApiKey.objects.usable()) == [good]
