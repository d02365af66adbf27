"""API keys in the admin: shown once, stored hashed, revoked at once, rotated with a grace period."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.admin.api_keys import ISSUED_KEYS_SESSION_KEY, ISSUED_KEYS_TTL_SECONDS
from accounts.models import ROTATION_GRACE, ApiKey, Membership, Organization, Role, hash_key

pytestmark = pytest.mark.django_db

KEY = re.compile(r"dsk_(?:live|test)_[A-Za-z0-9_\-]{32}")
CHANGELIST = "/admin/accounts/apikey/"


@pytest.fixture
def admin_client(db: None) -> Client:
    client = Client()
    client.force_login(User.objects.create_superuser("root", "root@example.test", "pw-not-used"))
    return client


def add_key(client: Client, org: Organization, **fields) -> tuple[Any, str]:
    data = {
        "organization": org.pk,
        "name": "ci",
        "environment": "live",
        "scopes": ["read", "write"],
        "rate_limit_per_minute": "",
        "expires_at_0": "",
        "expires_at_1": "",
        **fields,
    }
    posted = client.post(CHANGELIST + "add/", data)
    assert posted.status_code == 303, posted.content.decode()[:2000]
    assert KEY.search(posted.content.decode()) is None
    response = client.get(posted["Location"])
    assert response.status_code == 200
    found = KEY.findall(response.content.decode())
    assert len(set(found)) == 1
    return response, found[0]


def api_status(raw: str) -> int:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client.get("/api/v1/events/log").status_code


def test_creating_a_key_shows_it_once(admin_client: Client, org: Organization):
    response, raw = add_key(admin_client, org)
    assert "will not be shown again" in response.content.decode()
    assert "no-store" in response["Cache-Control"]
    key = ApiKey.objects.get()
    # Stored hashed: the database keeps the hash and a short prefix, never the key.
    assert key.key_hash == hash_key(raw)
    assert raw.startswith(key.prefix)
    assert len(key.prefix) < len(raw)
    assert raw not in {key.prefix, key.key_hash, key.name}
    assert key.scopes == ["read", "write"]
    # Never again: not on the change page, the list, the history, the session or a message.
    for path in (CHANGELIST, f"{CHANGELIST}{key.pk}/change/", f"{CHANGELIST}{key.pk}/history/", "/admin/"):
        page = admin_client.get(path)
        assert page.status_code == 200
        assert raw not in page.content.decode()
        assert KEY.search(page.content.decode()) is None
    assert raw not in str(dict(admin_client.session.items()))
    assert raw not in str(admin_client.cookies)
    assert api_status(raw) == 200


def test_a_test_key_with_limits(admin_client: Client, org: Organization):
    _, raw = add_key(admin_client, org, environment="test", scopes=["read"], rate_limit_per_minute="5")
    key = ApiKey.objects.get()
    assert raw.startswith("dsk_test_")
    assert key.scopes == ["read"]
    assert key.rate_limit_per_minute == 5


def test_a_new_key_cannot_start_expired(admin_client: Client, org: Organization):
    response = admin_client.post(
        CHANGELIST + "add/",
        {
            "organization": org.pk,
            "name": "x",
            "environment": "live",
            "scopes": ["read"],
            "expires_at_0": "2000-01-01",
            "expires_at_1": "00:00:00",
        },
    )
    assert "must expire in the future" in response.content.decode()
    assert not ApiKey.objects.exists()


def test_the_list_shows_status_and_last_use(admin_client: Client, org: Organization, make_key):
    raw = make_key(org, name="used")
    api_status(raw)
    page = admin_client.get(CHANGELIST).content.decode()
    key = ApiKey.objects.get()
    assert key.last_used_at is not None
    assert f"{key.prefix}…" in page
    assert "Active" in page
    assert "Last used at" in page


def test_revoking_with_the_action_takes_effect_on_the_next_request(
    admin_client: Client, org: Organization, make_key
):
    raw = make_key(org, name="doomed")
    key = ApiKey.objects.get()
    assert api_status(raw) == 200
    confirm = admin_client.post(CHANGELIST, {"action": "revoke_keys", "_selected_action": [key.pk]})
    assert confirm.status_code == 200
    assert "Revoke these keys?" in confirm.content.decode()
    key.refresh_from_db()
    assert key.revoked_at is None  # nothing happens before the confirmation
    done = admin_client.post(
        CHANGELIST, {"action": "revoke_keys", "_selected_action": [key.pk], "confirm": "yes"}
    )
    assert done.status_code == 302
    key.refresh_from_db()
    assert key.revoked_at is not None
    assert api_status(raw) == 401
    assert "Revoked" in admin_client.get(CHANGELIST).content.decode()


def test_revoking_from_the_key_page(admin_client: Client, org: Organization, make_key):
    raw = make_key(org)
    key = ApiKey.objects.get()
    page = admin_client.get(f"{CHANGELIST}{key.pk}/change/").content.decode()
    assert f"{CHANGELIST}{key.pk}/revoke/" in page
    assert admin_client.get(f"{CHANGELIST}{key.pk}/revoke/").status_code == 200
    response = admin_client.post(f"{CHANGELIST}{key.pk}/revoke/")
    assert response.status_code == 303
    assert api_status(raw) == 401
    # A revoked key offers neither button any more.
    assert (
        f"{CHANGELIST}{key.pk}/rotate/"
        not in admin_client.get(f"{CHANGELIST}{key.pk}/change/").content.decode()
    )


def test_rotating_issues_a_replacement_and_lets_the_old_key_expire(
    admin_client: Client, org: Organization, make_key
):
    old_raw = make_key(org, scopes=["read"], name="billing-sync", rate_limit_per_minute=7)
    old = ApiKey.objects.get()
    response = admin_client.post(
        CHANGELIST, {"action": "rotate_keys", "_selected_action": [old.pk]}, follow=True
    )
    assert response.redirect_chain == [(f"{CHANGELIST}issued/", 303)]
    assert "no-store" in response["Cache-Control"]
    new_raw = KEY.findall(response.content.decode())[0]
    assert new_raw != old_raw
    new = ApiKey.objects.get(key_hash=hash_key(new_raw))
    assert (new.name, new.scopes, new.rate_limit_per_minute, new.organization) == (
        "billing-sync",
        ["read"],
        7,
        org,
    )
    assert new.expires_at is None
    old.refresh_from_db()
    assert old.expires_at is not None
    assert abs(old.expires_at - (timezone.now() + ROTATION_GRACE)) < timedelta(minutes=1)
    # Both work during the grace period; the old one stops when it ends.
    assert api_status(new_raw) == 200
    assert api_status(old_raw) == 200
    ApiKey.objects.filter(pk=old.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert api_status(old_raw) == 401
    assert api_status(new_raw) == 200
    # The new key is never shown again either.
    assert new_raw not in admin_client.get(f"{CHANGELIST}{new.pk}/change/").content.decode()


def test_reloading_the_created_page_mints_nothing_and_shows_nothing(admin_client: Client, org: Organization):
    _, raw = add_key(admin_client, org)
    reloaded = admin_client.get(f"{CHANGELIST}issued/")
    assert reloaded.status_code == 200
    assert "Nothing to show" in reloaded.content.decode()
    assert KEY.search(reloaded.content.decode()) is None
    assert ApiKey.objects.count() == 1
    assert raw not in str(dict(admin_client.session.items()))


def test_a_key_waiting_too_long_for_its_page_is_not_shown(admin_client: Client, org: Organization):
    posted = admin_client.post(
        CHANGELIST + "add/",
        {"organization": org.pk, "name": "ci", "environment": "live", "scopes": ["read"]},
    )
    assert posted.status_code == 303
    session = admin_client.session
    session[ISSUED_KEYS_SESSION_KEY]["issued_at"] -= ISSUED_KEYS_TTL_SECONDS + 1
    session.save()
    page = admin_client.get(posted["Location"]).content.decode()
    assert KEY.search(page) is None
    assert "Nothing to show" in page


def test_rotating_from_the_key_page_redirects_and_links_both_keys(
    admin_client: Client, org: Organization, make_key
):
    make_key(org, name="billing-sync")
    old = ApiKey.objects.get()
    posted = admin_client.post(f"{CHANGELIST}{old.pk}/rotate/")
    assert posted.status_code == 303
    shown = admin_client.get(posted["Location"]).content.decode()
    new_raw = KEY.findall(shown)[0]
    new = ApiKey.objects.get(key_hash=hash_key(new_raw))
    assert f"Rotated from:</label> {old.prefix}" in shown
    # A reload of either page rotates nothing more.
    admin_client.get(posted["Location"])
    assert ApiKey.objects.count() == 2
    assert new.rotated_from == old
    old_page = admin_client.get(f"{CHANGELIST}{old.pk}/change/").content.decode()
    new_page = admin_client.get(f"{CHANGELIST}{new.pk}/change/").content.decode()
    assert re.search(
        rf"Replaced by.*?<a href=\"{CHANGELIST}{new.pk}/change/\">{re.escape(new.prefix)}…</a> \(active\)",
        old_page,
        re.S,
    )
    assert re.search(
        rf"Rotated from.*?<a href=\"{CHANGELIST}{old.pk}/change/\">{re.escape(old.prefix)}…</a> \(active until",
        new_page,
        re.S,
    )
    assert "Replaced by" in new_page
    assert new_raw not in new_page


def test_rotating_keeps_an_earlier_expiry(admin_client: Client, org: Organization, make_key):
    soon = timezone.now() + timedelta(hours=2)
    make_key(org, expires_at=soon)
    old = ApiKey.objects.get()
    admin_client.post(f"{CHANGELIST}{old.pk}/rotate/")
    old.refresh_from_db()
    assert old.expires_at == soon
    assert ApiKey.objects.exclude(pk=old.pk).get().expires_at == soon


def test_a_revoked_key_is_not_rotated(admin_client: Client, org: Organization, make_key):
    make_key(org, revoked_at=timezone.now())
    key = ApiKey.objects.get()
    response = admin_client.post(
        CHANGELIST, {"action": "rotate_keys", "_selected_action": [key.pk]}, follow=True
    )
    assert "Skipped 1 revoked or expired key" in response.content.decode()
    assert ApiKey.objects.count() == 1


def test_an_organisation_admin_sees_only_their_organisation(
    org: Organization, other_org: Organization, make_key
):
    mine = make_key(org, name="mine")
    make_key(other_org, name="theirs")
    theirs = ApiKey.objects.get(name="theirs")
    user = User.objects.create_user("orgadmin", "orgadmin@example.test", "pw", is_staff=True)
    Membership.objects.create(user=user, organization=org, role=Role.ADMIN)
    user.user_permissions.set(Permission.objects.filter(content_type__app_label="accounts"))
    client = Client()
    client.force_login(user)
    page = client.get(CHANGELIST).content.decode()
    assert "mine" in page
    assert "theirs" not in page
    assert other_org.name not in page  # not even in a filter
    assert client.get(f"{CHANGELIST}{theirs.pk}/change/").status_code == 302  # "does not exist"
    assert client.post(f"{CHANGELIST}{theirs.pk}/revoke/").status_code == 404
    add_form = client.get(CHANGELIST + "add/").content.decode()
    assert other_org.name not in add_form
    assert mine
