"""`GET /api/v1/events/log?types=`: the same filter as the feeds, applied in SQL."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from accounts.models import Organization
from events import publish
from events.publish import publish_event

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_fan_out(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(publish, "fan_out", lambda event: None)


def test_it_lists_only_the_selected_types_with_their_global_ids(api: APIClient, org: Organization) -> None:
    stored = [
        publish_event(
            org.pk, "processing.started", {"deal_id": 1, "statement_id": 1, "stage": "x", "progress": 0}
        ),
        publish_event(org.pk, "deal.status_changed", {"deal_id": 1, "old_status": "a", "new_status": "b"}),
        publish_event(org.pk, "deal.decision", {"deal_id": 1, "decision": "approved", "decided_by": "t"}),
        publish_event(
            org.pk, "processing.progress", {"deal_id": 1, "statement_id": 1, "stage": "x", "progress": 5}
        ),
    ]
    response = api.get("/api/v1/events/log", {"types": "processing.*,deal.decision"})
    assert response.status_code == 200, response.content
    assert [row["id"] for row in response.json()["results"]] == [stored[0].id, stored[2].id, stored[3].id]
    paged = api.get("/api/v1/events/log", {"types": "processing.*", "limit": "1"})
    assert [row["id"] for row in paged.json()["results"]] == [stored[0].id]
    following = api.get(paged.json()["next"])
    assert [row["id"] for row in following.json()["results"]] == [stored[3].id]


@pytest.mark.parametrize("types", ["deal.nope", "", "a b"])
def test_a_bad_filter_is_a_400_naming_the_field(api: APIClient, types: str) -> None:
    response = api.get("/api/v1/events/log", {"types": types})
    assert response.status_code == 400
    assert "types" in response.json()["error"]["fields"]
