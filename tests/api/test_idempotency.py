"""Idempotency-Key on creating POSTs: replay, conflict, scoping to the organisation."""

from __future__ import annotations

from collections.abc import Callable

from rest_framework.test import APIClient

from accounts.models import Organization

URL = "/api/v1/deals"


def test_the_same_key_and_body_replays_the_first_response(api: APIClient) -> None:
    first = api.post(URL, {"business_name": "Acme"}, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    second = api.post(URL, {"business_name": "Acme"}, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.status_code == 201
    assert second.status_code == 201
    assert second.json() == first.json()
    assert second["Idempotent-Replayed"] == "true"
    listing = api.get(URL).json()["results"]
    assert [deal["id"] for deal in listing] == [first.json()["id"]]


def test_the_same_key_with_another_body_is_409(api: APIClient) -> None:
    api.post(URL, {"business_name": "Acme"}, format="json", HTTP_IDEMPOTENCY_KEY="k-2")
    response = api.post(URL, {"business_name": "Other"}, format="json", HTTP_IDEMPOTENCY_KEY="k-2")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "idempotency_key_reused"
    assert len(api.get(URL).json()["results"]) == 1


def test_without_a_key_each_post_creates(api: APIClient) -> None:
    api.post(URL, {"business_name": "Acme"}, format="json")
    api.post(URL, {"business_name": "Acme"}, format="json")
    assert len(api.get(URL).json()["results"]) == 2


def test_keys_are_scoped_to_the_organisation(
    api: APIClient, other_org: Organization, make_key: Callable[..., str]
) -> None:
    other = APIClient()
    other.credentials(HTTP_AUTHORIZATION=f"Bearer {make_key(other_org)}")
    mine = api.post(URL, {"business_name": "Acme"}, format="json", HTTP_IDEMPOTENCY_KEY="shared")
    theirs = other.post(URL, {"business_name": "Acme"}, format="json", HTTP_IDEMPOTENCY_KEY="shared")
    assert theirs.status_code == 201
    assert theirs.json()["id"] != mine.json()["id"]


def test_an_overlong_key_is_400(api: APIClient) -> None:
    response = api.post(URL, {"business_name": "Acme"}, format="json", HTTP_IDEMPOTENCY_KEY="k" * 300)
    assert response.status_code == 400


def test_a_claim_can_be_released_twice(org: Organization) -> None:
    from api import idempotency
    from api.models import IdempotencyRecord

    record, first = idempotency.claim(org, "twice", "fingerprint")
    assert first
    idempotency.release(record)
    idempotency.release(record)  # a stream's cleanup and its caller's can both run
    assert not IdempotencyRecord.objects.exists()
    assert idempotency.claim(org, "twice", "fingerprint")[1]  # the key is free again
