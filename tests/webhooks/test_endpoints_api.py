"""`/api/v1/webhooks`: create, list, read, change, delete and rotate an organisation's endpoints."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from rest_framework.test import APIClient

from accounts.models import Organization
from events.publish import publish_event
from webhooks.models import WebhookEndpoint
from webhooks.signing import SECRET_PREFIX

from .conftest import create_webhook

pytestmark = pytest.mark.django_db

URL = "http://127.0.0.1:9/hook"


def client_for(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return client


def error_of(response: Any) -> dict[str, Any]:
    body: dict[str, Any] = response.json()["error"]
    return body


@pytest.mark.usefixtures("allow_private")
def test_it_creates_an_endpoint_and_shows_the_secret_once(api: APIClient, org: Organization) -> None:
    created = create_webhook(api, URL, ["processing.*", "deal.decision"], description="CRM sync")
    assert created["id"].startswith("wh_")
    assert created["secret"].startswith(SECRET_PREFIX)
    assert created["event_types"] == ["processing.*", "deal.decision"]
    assert created["enabled"] is True
    listed = api.get("/api/v1/webhooks").json()
    assert [each["id"] for each in listed["results"]] == [created["id"]]
    assert listed["next"] is None
    shown = api.get(f"/api/v1/webhooks/{created['id']}").json()
    assert shown["description"] == "CRM sync"
    assert "secret" not in shown
    assert "secret" not in listed["results"][0]
    assert WebhookEndpoint.objects.get(pk=created["id"]).organization == org


@pytest.mark.usefixtures("allow_private")
def test_it_starts_after_the_events_already_published(api: APIClient, org: Organization) -> None:
    event = publish_event(org.pk, "deal.created", {"deal_id": 1, "business_name": "A", "created_by": "x"})
    created = create_webhook(api, URL)
    assert WebhookEndpoint.objects.get(pk=created["id"]).cursor == event.id


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"url": "http://127.0.0.1/hook", "event_types": ["*"]}, "url", "private address"),
        ({"url": "http://10.1.2.3/hook", "event_types": ["*"]}, "url", "private address"),
        ({"url": "http://169.254.169.254/latest", "event_types": ["*"]}, "url", "private address"),
        ({"url": "http://[::1]:8000/hook", "event_types": ["*"]}, "url", "private address"),
        ({"url": "http://localhost:3000/hook", "event_types": ["*"]}, "url", "private address"),
        ({"url": "ftp://example.com/hook", "event_types": ["*"]}, "url", "http and https"),
        ({"url": "not a url", "event_types": ["*"]}, "url", "valid URL"),
        ({"url": "https://user:pw@example.com/", "event_types": ["*"]}, "url", "user name or password"),
        ({"url": "https://example.com/hook", "event_types": []}, "event_types", "at least 1"),
        (
            {"url": "https://example.com/hook", "event_types": ["invoice.paid"]},
            "event_types",
            "matches no event",
        ),
        ({"url": "https://example.com/hook", "event_types": "deal.created"}, "event_types", "list"),
        ({"event_types": ["*"]}, "url", "required"),
    ],
)
def test_it_refuses_bad_endpoints_with_a_clear_400(
    api: APIClient, body: dict[str, Any], field: str, message: str
) -> None:
    response = api.post("/api/v1/webhooks", body, format="json")
    assert response.status_code == 400, response.content
    error = error_of(response)
    assert message in str(error["fields"][field])
    assert not WebhookEndpoint.objects.exists()


@pytest.mark.usefixtures("allow_private")
def test_it_changes_and_deletes_an_endpoint(api: APIClient) -> None:
    created = create_webhook(api, URL)
    path = f"/api/v1/webhooks/{created['id']}"
    changed = api.patch(
        path, {"event_types": ["deal.*"], "enabled": False, "description": "off"}, format="json"
    )
    assert changed.status_code == 200, changed.content
    assert changed.json()["event_types"] == ["deal.*"]
    assert changed.json()["enabled"] is False
    assert api.patch(path, {"event_types": ["nope"]}, format="json").status_code == 400
    assert api.delete(path).status_code == 204
    assert api.get(path).status_code == 404


@pytest.mark.usefixtures("allow_private")
def test_it_reenables_a_disabled_endpoint_with_a_fresh_start(api: APIClient) -> None:
    created = create_webhook(api, URL)
    WebhookEndpoint.objects.filter(pk=created["id"]).update(
        enabled=False, disabled_reason="failing", attempt=3
    )
    changed = api.patch(f"/api/v1/webhooks/{created['id']}", {"enabled": True}, format="json").json()
    assert changed["enabled"] is True
    assert changed["disabled_reason"] == ""
    assert WebhookEndpoint.objects.get(pk=created["id"]).attempt == 0


@pytest.mark.usefixtures("allow_private")
def test_it_rotates_the_secret_keeping_the_old_one_for_a_day(api: APIClient) -> None:
    created = create_webhook(api, URL)
    rotated = api.post(f"/api/v1/webhooks/{created['id']}/rotate-secret")
    assert rotated.status_code == 200, rotated.content
    body = rotated.json()
    assert body["secret"].startswith(SECRET_PREFIX)
    assert body["secret"] != created["secret"]
    endpoint = WebhookEndpoint.objects.get(pk=created["id"])
    assert endpoint.signing_secrets() == [body["secret"], created["secret"]]
    assert endpoint.previous_secret_expires_at is not None
    later = endpoint.previous_secret_expires_at
    assert endpoint.signing_secrets(later) == [body["secret"]]


@pytest.mark.usefixtures("allow_private")
def test_it_validates_ownership(
    api: APIClient, other_org: Organization, make_key: Callable[..., str]
) -> None:
    created = create_webhook(api, URL)
    rival = client_for(make_key(other_org))
    path = f"/api/v1/webhooks/{created['id']}"
    assert rival.get("/api/v1/webhooks").json()["results"] == []
    for response in (
        rival.get(path),
        rival.patch(path, {"enabled": False}, format="json"),
        rival.delete(path),
        rival.post(path + "/rotate-secret"),
        rival.post(path + "/ping"),
        rival.post(path + "/replay", {"since_id": 0}, format="json"),
        rival.get(path + "/deliveries"),
    ):
        assert response.status_code == 404, response.content
        assert error_of(response)["code"] == "not_found"
    assert WebhookEndpoint.objects.get(pk=created["id"]).enabled is True


def test_it_needs_the_write_scope(org: Organization, make_key: Callable[..., str], anon: APIClient) -> None:
    reader = client_for(make_key(org, scopes=["read"]))
    response = reader.get("/api/v1/webhooks")
    assert response.status_code == 403
    assert error_of(response)["code"] == "insufficient_scope"
    assert anon.get("/api/v1/webhooks").status_code == 401


def test_it_answers_404_for_unknown_and_malformed_ids(api: APIClient) -> None:
    assert api.get("/api/v1/webhooks/wh_nope").status_code == 404
    assert api.get("/api/v1/webhooks/" + "x" * 300).status_code == 404


@pytest.mark.usefixtures("allow_private")
def test_it_refuses_a_bad_replay_position(api: APIClient) -> None:
    created = create_webhook(api, URL)
    for body in ({}, {"since_id": -1}, {"since_id": "x"}, {"since_id": 2**63}):
        response = api.post(f"/api/v1/webhooks/{created['id']}/replay", body, format="json")
        assert response.status_code == 400, (body, response.content)
        assert "since_id" in error_of(response)["fields"]


@pytest.mark.usefixtures("allow_private")
def test_it_answers_an_offset_past_any_row_with_an_empty_page(api: APIClient) -> None:
    created = create_webhook(api, URL)
    for path in ("/api/v1/webhooks", f"/api/v1/webhooks/{created['id']}/deliveries"):
        response = api.get(path, {"offset": 10**40, "limit": 5})
        assert response.status_code == 200, response.content
        assert response.json() == {"results": [], "next": None}
