"""Guessing passwords on /login and /admin/login/ locks the account and the client address for a while."""

from __future__ import annotations

import time

import pytest
from django.contrib.auth.models import User
from django.test import Client

from accounts.models import Membership, Organization, Role

pytestmark = pytest.mark.django_db

PASSWORD = "the-right-password-1"
LOCKED = "Too many failed sign-in attempts"


@pytest.fixture(autouse=True)
def _fast_hasher(settings) -> None:
    # Every failed attempt hashes a password; the production hasher would make this file slow.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def alice(org: Organization) -> User:
    user = User.objects.create_user("alice", "alice@example.test", PASSWORD, is_staff=True)
    Membership.objects.create(user=user, organization=org, role=Role.ADMIN)
    return user


def attempt(path: str, username: str, password: str, address: str = "203.0.113.7") -> tuple[int, str, bool]:
    """Status, page and whether the client ended up logged in."""
    client = Client(REMOTE_ADDR=address)
    response = client.post(path, {"username": username, "password": password})
    return response.status_code, response.content.decode(), "_auth_user_id" in client.session


@pytest.mark.parametrize("path", ["/login", "/admin/login/"])
def test_it_locks_an_account_after_repeated_failures(settings, alice: User, path: str) -> None:
    for n in range(settings.LOGIN_MAX_FAILURES_PER_ACCOUNT):
        # From many addresses, so only the per-account count can stop the guessing.
        _, _, logged_in = attempt(path, "alice", f"guess-{n}", address=f"198.51.100.{n + 1}")
        assert not logged_in
    status, page, logged_in = attempt(path, "alice", PASSWORD, address="192.0.2.1")
    assert not logged_in
    assert status in (200, 429)
    assert LOCKED in page
    # The message says when to come back, and the case of the name does not split the count.
    assert "minute" in page
    assert not attempt(path, "ALICE", PASSWORD, address="192.0.2.2")[2]


def test_it_throttles_one_address_guessing_many_accounts(settings, alice: User) -> None:
    for n in range(settings.LOGIN_MAX_FAILURES_PER_ADDRESS):
        assert not attempt("/login", f"user{n}", "guess")[2]
    _, page, logged_in = attempt("/login", "alice", PASSWORD)
    assert not logged_in
    assert LOCKED in page
    # Another address is not held responsible.
    assert attempt("/login", "alice", PASSWORD, address="192.0.2.99")[2]


def test_it_ends_the_lockout_by_itself(settings, alice: User) -> None:
    settings.LOGIN_LOCKOUT_SECONDS = 1
    for n in range(settings.LOGIN_MAX_FAILURES_PER_ACCOUNT):
        attempt("/login", "alice", f"guess-{n}")
    assert not attempt("/login", "alice", PASSWORD)[2]
    time.sleep(1.5)
    assert attempt("/login", "alice", PASSWORD)[2]


def test_it_forgives_failures_once_the_right_password_is_given(settings, alice: User) -> None:
    for _ in range(2):
        for n in range(settings.LOGIN_MAX_FAILURES_PER_ACCOUNT - 1):
            attempt("/login", "alice", f"guess-{n}", address=f"198.51.100.{n + 1}")
        assert attempt("/login", "alice", PASSWORD, address="192.0.2.1")[2]
