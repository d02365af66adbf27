"""`POST /api/v1/stream-tickets`: issuing tickets (redeeming them runs on real servers, tests/e2e)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.contrib.auth.models import User
from django.test import AsyncClient
from rest_framework.test import APIClient

from accounts.models import Membership, Organization
from deals.models import Deal
from events.models import StreamTicket

pytestmark = pytest.mark.django_db


def test_it_issues_a_single_use_ticket_bound_to_the_feed(api: APIClient, org: Organization) -> None:
    deal = Deal.objects.create(organization=org, business_name="Bolt")
    response = api.post(
        "/api/v1/stream-tickets",
        {"feed": f"/api/v1/events/deals/{deal.pk}", "types": "processing.*"},
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["ticket"].startswith("dst_")
    assert body["url"].startswith(f"/api/v1/events/deals/{deal.pk}?ticket={body['ticket']}&types=processing.")
    ticket = StreamTicket.objects.get()
    assert (ticket.feed_kind, ticket.feed_key) == ("deal", str(deal.pk))
    assert ticket.types == "processing.completed,processing.failed,processing.progress,processing.started"
    assert body["ticket"] not in ticket.token_hash  # only the hash is stored
    assert (ticket.expires_at - ticket.created_at).total_seconds() == pytest.approx(60, abs=1)


def test_a_read_only_key_may_ask_for_one(org: Organization, make_key: Callable[..., str]) -> None:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {make_key(org, scopes=['read'])}")
    response = client.post("/api/v1/stream-tickets", {"feed": "/api/v1/events"}, format="json")
    assert response.status_code == 201
    assert StreamTicket.objects.get().scopes == ["read"]


def test_another_organisations_object_is_404(api: APIClient, other_org: Organization) -> None:
    deal = Deal.objects.create(organization=other_org, business_name="Theirs")
    response = api.post("/api/v1/stream-tickets", {"feed": f"/api/v1/events/deals/{deal.pk}"}, format="json")
    assert response.status_code == 404
    assert not StreamTicket.objects.exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"feed": "/api/v1/deals/1"}, "feed"),
        ({"feed": "/api/v1/events?types=usage"}, "feed"),
        ({"feed": "events"}, "feed"),
        ({"feed": "/api/v1/events", "types": "nope"}, "types"),
        ({}, "feed"),
    ],
)
def test_it_refuses_what_is_not_a_feed_or_a_filter(api: APIClient, body: dict[str, str], field: str) -> None:
    response = api.post("/api/v1/stream-tickets", body, format="json")
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]


def test_a_huge_deal_id_is_404_not_a_database_error(api: APIClient) -> None:
    response = api.post("/api/v1/stream-tickets", {"feed": "/api/v1/events/deals/" + "9" * 30}, format="json")
    assert response.status_code == 404


def test_it_is_for_api_keys_not_sessions(org: Organization) -> None:
    user = User.objects.create_user("ann", password="pw-123456789")
    Membership.objects.create(user=user, organization=org)
    client = APIClient()
    client.force_login(user)
    response = client.post("/api/v1/stream-tickets", {"feed": "/api/v1/events"}, format="json")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "api_key_required"


def test_spent_and_expired_tickets_of_the_key_are_removed_on_issue(api: APIClient) -> None:
    for _ in range(3):
        assert (
            api.post("/api/v1/stream-tickets", {"feed": "/api/v1/events"}, format="json").status_code == 201
        )
    StreamTicket.objects.update(used_at="2026-01-01T00:00:00Z")
    api.post("/api/v1/stream-tickets", {"feed": "/api/v1/events"}, format="json")
    assert StreamTicket.objects.count() == 1


def test_without_a_key_it_is_401(anon: APIClient) -> None:
    assert anon.post("/api/v1/stream-tickets", {"feed": "/api/v1/events"}, format="json").status_code == 401


@pytest.mark.django_db(transaction=True)
async def test_a_malformed_request_does_not_spend_the_ticket(api_key: str) -> None:
    client = AsyncClient()
    issued = await client.post(
        "/api/v1/stream-tickets",
        {"feed": "/api/v1/events"},
        content_type="application/json",
        headers={"Authorization": f"Bearer {api_key}"},
    )
    url = issued.json()["url"]
    refused = await client.get(url, headers={"Last-Event-ID": "abc"})
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "invalid_last_event_id"
    widened = await client.get(url + "&types=nope")
    assert widened.status_code == 400
    assert widened.json()["error"]["code"] == "invalid_types"
    assert await StreamTicket.objects.filter(used_at__isnull=True).acount() == 1
