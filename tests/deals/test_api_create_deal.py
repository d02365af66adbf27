"""POST /api/v1/deals."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from deals.models import Deal
from events.models import Event

pytestmark = pytest.mark.django_db


def test_it_creates_a_deal(api, org):
    response = api.post(
        "/api/v1/deals",
        {"business_name": "Bolt Logistics Inc", "amount_requested": "25000.00", "external_ref": "CRM-7"},
        format="json",
    )
    assert response.status_code == 201
    body = response.json()
    assert isinstance(body["id"], int)
    assert body["status"] == "new"
    assert body["amount_requested"] == "25000.00"
    assert (body["statements"], body["proposal"], body["decision"]) == ([], None, None)
    deal = Deal.objects.get(pk=body["id"])
    assert deal.organization == org
    event = Event.objects.get(type="deal.created")
    assert event.data["deal_id"] == deal.pk
    assert event.data["business_name"] == "Bolt Logistics Inc"
    assert event.data["created_by"] == "api_key:test"
    assert event.data["request_id"] == response["X-Request-ID"]
    assert (event.data["amount_requested"], event.data["external_ref"]) == ("25000.00", "CRM-7")


def test_it_needs_only_a_business_name(api):
    response = api.post("/api/v1/deals", {"business_name": "Corner Cafe"}, format="json")
    assert response.status_code == 201
    assert response.json()["amount_requested"] is None


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "business_name"),
        ({"business_name": ""}, "business_name"),
        ({"business_name": "x" * 201}, "business_name"),
        ({"business_name": ["a"]}, "business_name"),
        ({"business_name": "A", "amount_requested": "lots"}, "amount_requested"),
        ({"business_name": "A", "amount_requested": -5}, "amount_requested"),
        ({"business_name": "A", "amount_requested": "1e99"}, "amount_requested"),
        ({"business_name": "A", "external_ref": {"x": 1}}, "external_ref"),
    ],
)
def test_it_validates_fields(api, body, field):
    response = api.post("/api/v1/deals", body, format="json")
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]
    assert not Deal.objects.exists()


def test_it_rejects_malformed_json(api):
    response = api.post("/api/v1/deals", "{not json", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "malformed_request"


def test_it_rejects_a_body_that_is_not_an_object(api):
    response = api.post("/api/v1/deals", [1, 2], format="json")
    assert response.status_code == 400


def test_it_is_idempotent_with_an_idempotency_key(api):
    body = {"business_name": "Bolt Logistics"}
    first = api.post("/api/v1/deals", body, format="json", HTTP_IDEMPOTENCY_KEY="abc-1")
    second = api.post("/api/v1/deals", body, format="json", HTTP_IDEMPOTENCY_KEY="abc-1")
    assert first.status_code == second.status_code == 201
    assert first.json()["id"] == second.json()["id"]
    assert Deal.objects.count() == 1
    assert Event.objects.filter(type="deal.created").count() == 1
    other = api.post("/api/v1/deals", {"business_name": "Else"}, format="json", HTTP_IDEMPOTENCY_KEY="abc-1")
    assert other.status_code == 409


def test_it_needs_the_write_scope(org, make_key):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {make_key(org, scopes=['read'])}")
    response = client.post("/api/v1/deals", {"business_name": "Bolt"}, format="json")
    assert response.status_code == 403
    assert not Deal.objects.exists()


def test_it_needs_a_key(anon):
    assert anon.post("/api/v1/deals", {"business_name": "Bolt"}, format="json").status_code == 401
