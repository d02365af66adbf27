"""Another organisation's objects are always 404, never 403."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from rest_framework.test import APIClient

from accounts.models import Organization


# Streams read the database from the shared thread pool, which only sees committed rows.
@pytest.mark.django_db(transaction=True)
def test_another_orgs_deal_is_404_everywhere(
    api: APIClient, other_org: Organization, make_key: Callable[..., str]
) -> None:
    deal_id = api.post("/api/v1/deals", {"business_name": "Mine"}, format="json").json()["id"]
    other = APIClient()
    other.credentials(HTTP_AUTHORIZATION=f"Bearer {make_key(other_org)}")
    for response in (
        other.get(f"/api/v1/deals/{deal_id}"),
        other.post(f"/api/v1/deals/{deal_id}/decision", {"decision": "approved"}, format="json"),
        other.get(f"/api/v1/events/deals/{deal_id}"),
    ):
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"
    assert other.get("/api/v1/deals").json()["results"] == []
    assert all(e["data"].get("deal_id") != deal_id for e in other.get("/api/v1/events/log").json()["results"])
