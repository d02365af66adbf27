"""`GET /api/v1/events/log`: stored events as JSON pages, oldest first, for polling clients."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from rest_framework.test import APIClient

from accounts.models import Organization
from events import publish
from events.models import Event
from events.publish import publish_event

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_fan_out(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(publish, "fan_out", lambda event: None)


@pytest.fixture
def events(org: Organization, other_org: Organization) -> list[Event]:
    stored = [
        publish_event(org.pk, "deal.created", {"deal_id": 1, "business_name": "A", "created_by": "t"}),
        publish_event(
            org.pk, "deal.status_changed", {"deal_id": 1, "old_status": "new", "new_status": "processing"}
        ),
        publish_event(other_org.pk, "deal.created", {"deal_id": 9, "business_name": "Z", "created_by": "t"}),
        publish_event(
            org.pk,
            "batch.document_processed",
            {"batch_id": "batch_1", "document_id": "d1", "status": "ok", "progress": "1/2"},
        ),
        publish_event(org.pk, "status", {"job_id": "job_1", "status": "queued"}),
        publish_event(
            org.pk, "deal.status_changed", {"deal_id": 2, "old_status": "new", "new_status": "processing"}
        ),
    ]
    return [e for e in stored if e.organization_id == org.pk]


def ids(body: dict[str, Any]) -> list[int]:
    return [row["id"] for row in body["results"]]


def test_it_pages_oldest_first_with_next(api: APIClient, events: list[Event]) -> None:
    collected: list[int] = []
    url: str | None = "/api/v1/events/log?limit=2"
    pages = 0
    while url:
        response = api.get(url)
        assert response.status_code == 200
        body = response.json()
        assert len(body["results"]) <= 2
        collected += ids(body)
        url = body["next"]
        pages += 1
    assert collected == [e.id for e in events]
    assert pages == 3


def test_rows_carry_id_type_data_created_at(api: APIClient, events: list[Event]) -> None:
    row = api.get("/api/v1/events/log").json()["results"][0]
    assert set(row) == {"id", "type", "data", "created_at"}
    assert row["type"] == "deal.created"
    assert row["data"]["business_name"] == "A"
    assert row["data"]["type"] == "deal.created"


def test_after_starts_past_a_known_id(api: APIClient, events: list[Event]) -> None:
    body = api.get(f"/api/v1/events/log?after={events[1].id}").json()
    assert ids(body) == [e.id for e in events[2:]]
    assert body["next"] is None


def test_next_keeps_the_filters(api: APIClient, events: list[Event]) -> None:
    body = api.get("/api/v1/events/log?type=deal.status_changed&limit=1").json()
    assert ids(body) == [events[1].id]
    assert "type=deal.status_changed" in body["next"]
    assert ids(api.get(body["next"]).json()) == [events[4].id]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        # deal_id selects the deal feed's events; `deal.created` belongs to the org feed only.
        ("deal_id=1", [1]),
        ("deal_id=2", [4]),
        ("batch_id=batch_1", [2]),
        ("job_id=job_1", [3]),
        ("type=deal.created", [0]),
        ("deal_id=1&type=deal.status_changed", [1]),
        ("deal_id=9", []),  # the other organisation's deal
    ],
)
def test_filters(api: APIClient, events: list[Event], query: str, expected: list[int]) -> None:
    assert ids(api.get(f"/api/v1/events/log?{query}").json()) == [events[i].id for i in expected]


def test_another_org_sees_only_its_own(
    events: list[Event], other_org: Organization, make_key: Callable[..., str]
) -> None:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {make_key(other_org)}")
    body = client.get("/api/v1/events/log").json()
    assert [row["data"]["deal_id"] for row in body["results"]] == [9]


@pytest.mark.parametrize(
    "query", ["after=abc", "after=-1", "limit=0", "limit=100000", "type=nope", "deal_id=x"]
)
def test_bad_queries_are_400_json(api: APIClient, events: list[Event], query: str) -> None:
    response = api.get(f"/api/v1/events/log?{query}")
    assert response.status_code == 400
    assert response["Content-Type"].startswith("application/json")
    assert response.json()["error"]["code"] == "invalid_request"


def test_it_needs_a_key(anon: APIClient, api_key: str) -> None:
    response = anon.get("/api/v1/events/log")
    assert response.status_code == 401
    assert "error" in response.json()
    # Keys in the query string are for streams only.
    assert anon.get(f"/api/v1/events/log?token={api_key}").status_code == 401
