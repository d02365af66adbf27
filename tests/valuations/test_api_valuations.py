"""Stored valuations: list, read, organisation isolation, purge by client and retention."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import Organization
from valuations.models import Valuation
from valuations.tasks import prune_valuations

LIST = "/api/v1/valuations"


def value(client: APIClient, client_id: str = "ext", price: int = 120, **extra: Any) -> str:
    """Create one valuation through the API and return its id."""
    data = {
        "url": f"https://shop.example/p/{price}",
        "overrideProduct": {"name": "Cotton tee", "category": "t-shirt", "price": price},
        "client": {"id": client_id, "surface": "extension_overlay", "version": "2.1.0"},
        **extra,
    }
    response = client.post("/api/v1/value-decision", data, format="json")
    assert response.status_code == 200, response.content
    return str(response["X-Valuation-Id"])


@pytest.fixture
def other(other_org: Organization, make_key: Callable[..., str]) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {make_key(other_org)}")
    return client


def test_it_lists_newest_first(api: APIClient) -> None:
    first = value(api, price=10)
    second = value(api, price=20)
    response = api.get(LIST)
    assert response.status_code == 200
    page = response.json()
    assert [row["id"] for row in page["results"]] == [second, first]
    assert page["next"] is None
    row = page["results"][0]
    assert set(row) == {
        "id",
        "client",
        "url",
        "product_id",
        "source",
        "version",
        "request",
        "result",
        "request_id",
        "created_at",
    }
    assert row["client"] == {"id": "ext", "surface": "extension_overlay", "version": "2.1.0"}
    assert row["request"]["overrideProduct"]["price"] == 20
    assert row["result"]["productId"] == row["product_id"]
    assert row["source"] == "override"


def test_it_paginates(api: APIClient) -> None:
    for price in range(1, 4):
        value(api, price=price)
    page = api.get(LIST, {"limit": 2}).json()
    assert len(page["results"]) == 2
    assert page["next"]
    rest = api.get(page["next"]).json()
    assert len(rest["results"]) == 1
    assert rest["next"] is None


def test_it_filters_by_client(api: APIClient) -> None:
    mine = value(api, client_id="ext")
    value(api, client_id="app")
    results = api.get(LIST, {"client_id": "ext"}).json()["results"]
    assert [row["id"] for row in results] == [mine]


def test_it_reads_one(api: APIClient) -> None:
    valuation_id = value(api)
    response = api.get(f"{LIST}/{valuation_id}")
    assert response.status_code == 200
    assert response.json()["id"] == valuation_id
    assert response.json()["result"] == Valuation.objects.get().result


def test_an_unknown_valuation_is_404(api: APIClient) -> None:
    response = api.get(f"{LIST}/val_nope")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_another_organisations_valuation_is_404_and_unlisted(api: APIClient, other: APIClient) -> None:
    theirs = value(other, client_id="ext")
    assert api.get(f"{LIST}/{theirs}").status_code == 404
    assert api.get(LIST).json()["results"] == []
    assert api.get(LIST, {"client_id": "ext"}).json()["results"] == []


def test_purge_deletes_one_clients_valuations_and_counts_them(api: APIClient, other: APIClient) -> None:
    value(api, client_id="ext", price=1)
    value(api, client_id="ext", price=2)
    kept = value(api, client_id="app")
    theirs = value(other, client_id="ext")
    response = api.delete(f"{LIST}?client_id=ext")
    assert response.status_code == 200
    assert response.json() == {"deleted": 2}
    assert set(Valuation.objects.values_list("pk", flat=True)) == {kept, theirs}
    # Purging again finds nothing left.
    assert api.delete(f"{LIST}?client_id=ext").json() == {"deleted": 0}


def test_purge_without_a_client_is_400(api: APIClient) -> None:
    value(api)
    response = api.delete(LIST)
    assert response.status_code == 400
    assert "client_id" in response.json()["error"]["fields"]
    assert Valuation.objects.count() == 1


def test_purge_needs_the_write_scope(org: Organization, make_key: Callable[..., str], api: APIClient) -> None:
    value(api)
    reader = APIClient()
    reader.credentials(HTTP_AUTHORIZATION=f"Bearer {make_key(org, scopes=['read'])}")
    assert reader.get(LIST).status_code == 200
    assert reader.delete(f"{LIST}?client_id=ext").status_code == 403
    assert Valuation.objects.count() == 1


def test_listing_needs_a_key(anon: APIClient) -> None:
    assert anon.get(LIST).status_code == 401


def test_retention_prunes_only_old_valuations(api: APIClient, settings: Any) -> None:
    settings.VALUATION_RETENTION_DAYS = 30
    old = value(api, price=1)
    edge = value(api, price=2)
    fresh = value(api, price=3)
    now = timezone.now()
    Valuation.objects.filter(pk=old).update(created_at=now - timedelta(days=31))
    Valuation.objects.filter(pk=edge).update(created_at=now - timedelta(days=29, hours=23))
    assert prune_valuations.apply().get() == 1
    assert set(Valuation.objects.values_list("pk", flat=True)) == {edge, fresh}


def test_retention_prunes_in_batches(api: APIClient, monkeypatch: pytest.MonkeyPatch) -> None:
    from valuations import services

    monkeypatch.setattr(services, "PRUNE_BATCH", 2)
    for price in range(1, 6):
        value(api, price=price)
    Valuation.objects.update(created_at=timezone.now() - timedelta(days=365))
    assert services.prune_valuations() == 5
    assert not Valuation.objects.exists()


def test_the_admin_lists_valuations_and_purges_by_client(
    api: APIClient, other: APIClient, admin_client: Any
) -> None:
    mine = value(api, client_id="ext", price=1)
    value(api, client_id="ext", price=2)
    kept = value(api, client_id="app")
    theirs = value(other, client_id="ext")  # same client id, another organisation: untouched
    changelist = admin_client.get("/admin/valuations/valuation/")
    assert changelist.status_code == 200
    assert mine in changelist.content.decode()
    action = {"action": "purge_clients", "_selected_action": [mine]}
    confirmation = admin_client.post("/admin/valuations/valuation/", action)
    # It removes more rows than were selected, so it asks first and deletes nothing yet.
    assert "Purge these clients" in confirmation.content.decode()
    assert Valuation.objects.count() == 4
    response = admin_client.post("/admin/valuations/valuation/", {**action, "confirm": "yes"}, follow=True)
    assert response.status_code == 200
    assert "Deleted 2 valuation(s) of 1 client(s)." in response.content.decode()
    assert set(Valuation.objects.values_list("pk", flat=True)) == {kept, theirs}
