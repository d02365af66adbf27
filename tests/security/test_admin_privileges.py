"""An organisation's admin manages its own plain users in the real admin, and nothing more:
no privilege fields, no superuser or other staff account, no user of another organisation."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client

from accounts.models import Membership, Organization, Role

pytestmark = pytest.mark.django_db

PASSWORD = "an-old-password-1"
PRIVILEGE_FIELDS = ("is_superuser", "is_staff", "groups", "user_permissions")


@pytest.fixture
def root(db: None) -> User:
    """A platform superuser who belongs to no organisation."""
    return User.objects.create_superuser("root", "root@example.test", PASSWORD)


@pytest.fixture
def org_admin(org: Organization) -> User:
    """The worst case: an organisation's admin given every permission on users and memberships."""
    user = User.objects.create_user("orgadmin", "orgadmin@example.test", PASSWORD, is_staff=True)
    Membership.objects.create(user=user, organization=org, role=Role.ADMIN)
    user.user_permissions.set(Permission.objects.filter(content_type__app_label__in=["accounts", "auth"]))
    return user


@pytest.fixture
def alice(org: Organization) -> User:
    user = User.objects.create_user("alice", "alice@example.test", PASSWORD)
    Membership.objects.create(user=user, organization=org, role=Role.UNDERWRITER)
    return user


@pytest.fixture
def client(org_admin: User) -> Client:
    client = Client()
    client.force_login(org_admin)
    return client


def user_change_data(user: User, **extra: str) -> dict[str, str]:
    data = {
        "username": user.username,
        "email": user.email,
        "first_name": "",
        "last_name": "",
        "is_active": "on",
        "date_joined_0": "2024-01-01",
        "date_joined_1": "00:00:00",
        "membership-TOTAL_FORMS": "1",
        "membership-INITIAL_FORMS": "1",
        "membership-MIN_NUM_FORMS": "0",
        "membership-MAX_NUM_FORMS": "1",
        "membership-0-id": str(user.membership.pk),
        "membership-0-user": str(user.pk),
        "membership-0-organization": str(user.membership.organization_id),
        "membership-0-role": user.membership.role,
    }
    data.update(extra)
    return data


def test_it_offers_no_privilege_field_to_an_org_admin(client: Client, alice: User) -> None:
    page = client.get(f"/admin/auth/user/{alice.pk}/change/")
    assert page.status_code == 200
    form = page.context["adminform"].form
    for field in PRIVILEGE_FIELDS:
        assert field not in form.fields, field


def test_it_ignores_privilege_fields_an_org_admin_posts(client: Client, alice: User, org_admin: User) -> None:
    every_permission = [str(pk) for pk in Permission.objects.values_list("pk", flat=True)]
    data = user_change_data(alice, is_superuser="on", is_staff="on")
    response = client.post(
        f"/admin/auth/user/{alice.pk}/change/", {**data, "user_permissions": every_permission}
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    alice.refresh_from_db()
    assert not alice.is_superuser
    assert not alice.is_staff
    assert not alice.user_permissions.exists()
    # Nor can the org admin promote itself.
    data = user_change_data(org_admin, is_superuser="on", is_staff="on")
    client.post(f"/admin/auth/user/{org_admin.pk}/change/", data)
    org_admin.refresh_from_db()
    assert not org_admin.is_superuser


def test_it_never_lets_an_org_admin_reach_a_superuser(client: Client, root: User, org: Organization) -> None:
    # Even a superuser who is also a member of the organisation is out of its admin's reach.
    Membership.objects.create(user=root, organization=org, role=Role.ADMIN)
    assert client.get(f"/admin/auth/user/{root.pk}/change/").status_code in (302, 403, 404)
    assert client.get(f"/admin/auth/user/{root.pk}/password/").status_code in (403, 404)
    client.post(
        f"/admin/auth/user/{root.pk}/password/",
        {"password1": "taken-over-123", "password2": "taken-over-123", "usable_password": "true"},
    )
    root.refresh_from_db()
    assert root.check_password(PASSWORD)
    assert "root" not in client.get("/admin/auth/user/").content.decode()
    client.post(f"/admin/auth/user/{root.pk}/delete/", {"post": "yes"})
    assert User.objects.filter(pk=root.pk).exists()


def test_it_refuses_to_attach_a_superuser_to_the_organisation(
    client: Client, root: User, org: Organization
) -> None:
    # Through the members inline of the organisation page, by raw id.
    page = client.get(f"/admin/accounts/organization/{org.pk}/change/")
    assert page.status_code == 200
    data = {
        "name": org.name,
        "subscription_tier": org.subscription_tier,
        "monthly_job_limit": "",
        "memberships-TOTAL_FORMS": "1",
        "memberships-INITIAL_FORMS": "0",
        "memberships-MIN_NUM_FORMS": "0",
        "memberships-MAX_NUM_FORMS": "1000",
        "memberships-0-user": str(root.pk),
        "memberships-0-role": Role.ADMIN,
        "memberships-0-organization": str(org.pk),
        "api_keys-TOTAL_FORMS": "0",
        "api_keys-INITIAL_FORMS": "0",
        "api_keys-MIN_NUM_FORMS": "0",
        "api_keys-MAX_NUM_FORMS": "0",
    }
    client.post(f"/admin/accounts/organization/{org.pk}/change/", data)
    assert not Membership.objects.filter(user=root).exists()
    # Through the membership pages.
    client.post(
        "/admin/accounts/membership/add/",
        {"user": str(root.pk), "organization": str(org.pk), "role": Role.ADMIN},
    )
    assert not Membership.objects.filter(user=root).exists()


def test_it_keeps_privileged_users_and_other_tenants_out_of_lookups(
    client: Client, root: User, org: Organization, other_org: Organization
) -> None:
    Membership.objects.create(user=root, organization=org, role=Role.ADMIN)
    rival = User.objects.create_user("rival", "rival@example.test", PASSWORD)
    Membership.objects.create(user=rival, organization=other_org, role=Role.UNDERWRITER)
    popup = client.get("/admin/auth/user/?_to_field=id&_popup=1").content.decode()
    assert "root" not in popup
    assert "rival" not in popup
    found = client.get(
        "/admin/autocomplete/",
        {"app_label": "accounts", "model_name": "membership", "field_name": "user", "term": "r"},
    )
    if found.status_code == 200:
        names = [item["text"] for item in json.loads(found.content)["results"]]
        assert "root" not in names
        assert "rival" not in names
    else:
        assert found.status_code in (403, 404)


def test_it_adds_users_only_to_the_org_admins_organisation(client: Client, org: Organization) -> None:
    response = client.post(
        "/admin/auth/user/add/",
        {
            "username": "newcomer",
            "password1": "a-fine-password-42",
            "password2": "a-fine-password-42",
            "usable_password": "true",
            "is_superuser": "on",
            "is_staff": "on",
            "membership-TOTAL_FORMS": "0",
            "membership-INITIAL_FORMS": "0",
            "membership-MIN_NUM_FORMS": "0",
            "membership-MAX_NUM_FORMS": "1",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    newcomer = User.objects.get(username="newcomer")
    assert not newcomer.is_superuser
    assert not newcomer.is_staff
    assert newcomer.membership.organization == org
