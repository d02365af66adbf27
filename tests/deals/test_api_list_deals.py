"""GET /api/v1/deals."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from deals.models import Deal, DealStatus

pytestmark = pytest.mark.django_db


def make_deals(org, count: int, **fields) -> list[Deal]:
    return [Deal.objects.create(organization=org, business_name=f"Deal {n}", **fields) for n in range(count)]


def test_it_lists_newest_first_in_pages(api, org):
    make_deals(org, 5)
    first = api.get("/api/v1/deals?limit=2")
    assert first.status_code == 200
    body = first.json()
    assert [d["business_name"] for d in body["results"]] == ["Deal 4", "Deal 3"]
    assert body["next"]
    second = api.get(body["next"]).json()
    assert [d["business_name"] for d in second["results"]] == ["Deal 2", "Deal 1"]
    last = api.get(second["next"]).json()
    assert [d["business_name"] for d in last["results"]] == ["Deal 0"]
    assert last["next"] is None


def test_it_filters_by_status(api, org):
    make_deals(org, 2)
    make_deals(org, 1, status=DealStatus.UNDER_REVIEW)
    body = api.get("/api/v1/deals?status=under_review").json()
    assert [d["status"] for d in body["results"]] == ["under_review"]


def test_it_rejects_an_unknown_status(api):
    response = api.get("/api/v1/deals?status=lost")
    assert response.status_code == 400
    assert "status" in response.json()["error"]["fields"]


def test_it_searches_names_and_external_refs(api, org):
    Deal.objects.create(organization=org, business_name="Bolt Logistics")
    Deal.objects.create(organization=org, business_name="Corner Cafe", external_ref="CRM-BOLT-2")
    Deal.objects.create(organization=org, business_name="Harbor Marine")
    body = api.get("/api/v1/deals?search=bolt").json()
    assert sorted(d["business_name"] for d in body["results"]) == ["Bolt Logistics", "Corner Cafe"]


def test_it_shows_only_the_callers_organisation(api, org, other_org):
    make_deals(org, 1)
    make_deals(other_org, 3)
    assert len(api.get("/api/v1/deals").json()["results"]) == 1


def test_a_read_only_key_may_list(org, make_key):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {make_key(org, scopes=['read'])}")
    assert client.get("/api/v1/deals").status_code == 200
