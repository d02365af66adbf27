"""Users of each role, logged-in clients, and deals in the states the dashboard shows."""

from __future__ import annotations

import io
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from accounts.models import Membership, Organization, Role
from deals import services
from deals.models import Deal, DealStatus, ProposedChange
from tests.dashboard import known_statement as known
from tests.jobs.factories import healthy_csv


@pytest.fixture(autouse=True)
def _media(settings: Any, tmp_path: Any) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def make_user(db: None) -> Callable[..., User]:
    def make(organization: Organization | None, role: str = Role.UNDERWRITER, username: str = "") -> User:
        username = username or f"{role}-{organization.pk if organization else 'none'}"
        user = User.objects.create_user(username, f"{username}@example.test", "pw-not-used")
        if organization is not None:
            Membership.objects.create(user=user, organization=organization, role=role)
        return user

    return make


@pytest.fixture
def underwriter(org: Organization, make_user: Callable[..., User]) -> User:
    return make_user(org, Role.UNDERWRITER)


@pytest.fixture
def viewer(org: Organization, make_user: Callable[..., User]) -> User:
    return make_user(org, Role.VIEWER)


def logged_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def underwriter_client(underwriter: User) -> Client:
    return logged_in(underwriter)


@pytest.fixture
def viewer_client(viewer: User) -> Client:
    return logged_in(viewer)


@pytest.fixture
def deal(org: Organization, underwriter: User) -> Deal:
    return services.create_deal(org, business_name="Bolt Logistics", created_by=underwriter.email)


@pytest.fixture
def reviewed_deal(org: Organization, deal: Deal, django_capture_on_commit_callbacks: Any) -> Deal:
    """A deal whose one statement has been processed: under review, with an open proposal."""
    document = services.Document("january.csv", _bytes_file(healthy_csv()), len(healthy_csv()))
    with django_capture_on_commit_callbacks(execute=True):
        services.add_statements(org, deal.pk, [document], created_by="test")
    deal.refresh_from_db()
    assert deal.status == DealStatus.UNDER_REVIEW
    assert deal.open_proposal is not None
    return deal


def _bytes_file(content: bytes) -> io.BytesIO:
    return io.BytesIO(content)


def open_proposal(deal: Deal) -> ProposedChange:
    proposal = deal.open_proposal
    assert proposal is not None
    return proposal


def upload_document(org: Organization, deal: Deal, name: str, content: bytes, capture: Any) -> Deal:
    """Add one statement through deals.services and run its job at once."""
    document = services.Document(name, io.BytesIO(content), len(content))
    with capture(execute=True):
        services.add_statements(org, deal.pk, [document], created_by="test")
    deal.refresh_from_db()
    return deal


@pytest.fixture
def known_deal(org: Organization, django_capture_on_commit_callbacks: Any) -> Deal:
    """A deal scored from the hand-checked statement of tests.dashboard.known_statement."""
    deal = services.create_deal(
        org,
        business_name="Harbor Bakery",
        amount_requested=Decimal(known.AMOUNT_REQUESTED),
        created_by="test",
    )
    return upload_document(org, deal, "harbor.csv", known.known_csv(), django_capture_on_commit_callbacks)
