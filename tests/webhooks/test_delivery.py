"""Delivery to a real local HTTP receiver: order, signatures, retries, giving up, disabling, replay, ping."""

from __future__ import annotations

import contextlib
import datetime
import json
from collections.abc import Callable
from typing import Any

import pytest
from dealstream import verify_webhook
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import Organization
from events.models import Event
from events.publish import publish_event
from tests.webhooks.receiver import Receiver
from webhooks import delivery
from webhooks.models import WebhookDelivery, WebhookEndpoint

from .conftest import create_webhook

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("allow_private")]

Capture = Callable[..., Any]


def publish(org: Organization, capture: Capture, *types: str) -> list[Event]:
    """Publish one event per type and run what their commit triggers (deliveries, inline)."""
    events = []
    with capture(execute=True):
        for n, event_type in enumerate(types):
            events.append(
                publish_event(org.pk, event_type, {"deal_id": n + 1, "statement_id": n, "progress": n})
            )
    return events


def stored_body(event: Event) -> dict[str, Any]:
    event.refresh_from_db()
    return {"id": event.id, "type": event.type, "timestamp": event.data["timestamp"], "data": event.data}


def test_it_delivers_subscribed_events_in_order_signed_with_their_stored_ids(
    api: APIClient, org: Organization, receiver: Receiver, django_capture_on_commit_callbacks: Capture
) -> None:
    created = create_webhook(api, receiver.url, ["processing.*"])
    events = publish(
        org,
        django_capture_on_commit_callbacks,
        "processing.started",
        "deal.status_changed",
        "processing.progress",
        "processing.completed",
    )
    wanted = [event for event in events if event.type.startswith("processing.")]
    requests = receiver.requests()
    assert [json.loads(r.body) for r in requests] == [stored_body(event) for event in wanted]
    for request, event in zip(requests, wanted, strict=True):
        assert request.headers["webhook-id"] == str(event.id)
        assert request.headers["content-type"] == "application/json"
        assert verify_webhook(request.body, request.headers, created["secret"])["id"] == event.id
    endpoint = WebhookEndpoint.objects.get(pk=created["id"])
    assert endpoint.cursor == events[-1].id
    assert endpoint.claim_token == ""
    assert endpoint.claimed_until is None


def test_it_retries_on_the_schedule_while_the_receiver_is_down_then_catches_up_in_order(
    api: APIClient, org: Organization, receiver: Receiver, django_capture_on_commit_callbacks: Capture
) -> None:
    created = create_webhook(api, receiver.url, ["deal.*"])
    receiver.stop()
    events = publish(org, django_capture_on_commit_callbacks, "deal.created", "deal.decision")
    attempts = list(WebhookDelivery.objects.filter(endpoint_id=created["id"]))
    assert [(a.event_id, a.attempt, a.status, a.response_code) for a in attempts] == [
        (events[0].id, 1, "retrying", None)
    ]
    assert "could not be reached" in attempts[0].error
    first_retry = attempts[0].next_attempt_at
    assert first_retry is not None
    assert 4.5 <= (first_retry - attempts[0].created_at).total_seconds() <= 6  # the Svix schedule's 5 s
    # Not due yet: nothing is tried.
    assert delivery.run_endpoint(created["id"]) == 0
    receiver.start()
    WebhookEndpoint.objects.filter(pk=created["id"]).update(next_attempt_at=timezone.now())
    assert delivery.deliver_due() == [created["id"]]
    assert [json.loads(body)["id"] for body in receiver.bodies()] == [event.id for event in events]
    latest = WebhookDelivery.objects.filter(endpoint_id=created["id"]).order_by("id")
    assert [(a.event_id, a.attempt, a.status) for a in latest] == [
        (events[0].id, 1, "retrying"),
        (events[0].id, 2, "delivered"),
        (events[1].id, 1, "delivered"),
    ]
    endpoint = WebhookEndpoint.objects.get(pk=created["id"])
    assert endpoint.failing_since is None
    assert endpoint.attempt == 0


def test_it_gives_an_event_up_after_the_last_attempt_and_goes_on(
    api: APIClient,
    org: Organization,
    receiver: Receiver,
    settings: Any,
    django_capture_on_commit_callbacks: Capture,
) -> None:
    settings.WEBHOOK_RETRY_SCHEDULE = [0, 0, 0]
    created = create_webhook(api, receiver.url, ["deal.created"])
    receiver.status = 500
    events = publish(org, django_capture_on_commit_callbacks, "deal.created", "deal.created")
    attempts = WebhookDelivery.objects.filter(endpoint_id=created["id"]).order_by("id")
    assert [(a.event_id, a.attempt, a.status, a.response_code) for a in attempts] == [
        (events[0].id, 1, "retrying", 500),
        (events[0].id, 2, "retrying", 500),
        (events[0].id, 3, "failed", 500),
        (events[1].id, 1, "retrying", 500),
        (events[1].id, 2, "retrying", 500),
        (events[1].id, 3, "failed", 500),
    ]
    assert WebhookEndpoint.objects.get(pk=created["id"]).enabled is True


def test_it_disables_an_endpoint_failing_for_too_long_and_says_so_on_the_org_feed(
    api: APIClient,
    org: Organization,
    receiver: Receiver,
    settings: Any,
    django_capture_on_commit_callbacks: Capture,
) -> None:
    created = create_webhook(api, receiver.url, ["deal.created"])
    other = create_webhook(api, receiver.url + "?other", ["webhook.*"])
    receiver.status = 503
    failing_since = timezone.now() - datetime.timedelta(days=5, seconds=1)
    WebhookEndpoint.objects.filter(pk=created["id"]).update(failing_since=failing_since)
    publish(org, django_capture_on_commit_callbacks, "deal.created")
    endpoint = WebhookEndpoint.objects.get(pk=created["id"])
    assert endpoint.enabled is False
    assert "failed for 5 days" in endpoint.disabled_reason
    disabled = Event.objects.get(organization=org, type="webhook.endpoint_disabled")
    assert disabled.in_org_feed
    assert disabled.data["webhook_id"] == created["id"]
    assert disabled.data["url"] == receiver.url
    assert disabled.data["reason"] == endpoint.disabled_reason
    assert WebhookDelivery.objects.filter(endpoint_id=created["id"]).get().status == "failed"
    # A disabled endpoint is not tried again.
    publish(org, django_capture_on_commit_callbacks, "deal.created")
    assert WebhookDelivery.objects.filter(endpoint_id=created["id"]).count() == 1
    assert api.get(f"/api/v1/webhooks/{created['id']}").json()["enabled"] is False
    # The other endpoint tried to deliver the notice (its receiver answers 503 too).
    assert WebhookDelivery.objects.get(endpoint_id=other["id"]).event_id == disabled.id


def test_it_replays_from_a_position_in_order_then_carries_on(
    api: APIClient, org: Organization, receiver: Receiver, django_capture_on_commit_callbacks: Capture
) -> None:
    created = create_webhook(api, receiver.url, ["deal.created"])
    events = publish(org, django_capture_on_commit_callbacks, "deal.created", "deal.created", "deal.created")
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(
            f"/api/v1/webhooks/{created['id']}/replay", {"since_id": events[0].id}, format="json"
        )
    assert response.status_code == 202, response.content
    assert response.json() == {"since_id": events[0].id, "cursor": events[0].id}
    ids = [json.loads(body)["id"] for body in receiver.bodies()]
    assert ids == [events[0].id, events[1].id, events[2].id, events[1].id, events[2].id]
    # A position ahead of the cursor changes nothing: nothing is skipped.
    response = api.post(f"/api/v1/webhooks/{created['id']}/replay", {"since_id": 10**12}, format="json")
    assert response.json()["cursor"] == events[2].id


def test_it_pings_and_lists_every_attempt(
    api: APIClient, org: Organization, receiver: Receiver, django_capture_on_commit_callbacks: Capture
) -> None:
    created = create_webhook(api, receiver.url, ["deal.created"])
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(f"/api/v1/webhooks/{created['id']}/ping")
    assert response.status_code == 202, response.content
    [ping] = receiver.requests()
    body = verify_webhook(ping.body, ping.headers, created["secret"])
    assert body["type"] == "webhook.ping"
    assert body["data"] == {"webhook_id": created["id"]}
    assert ping.headers["webhook-id"] == body["id"]
    assert body["id"].startswith("ping_")
    [event] = publish(org, django_capture_on_commit_callbacks, "deal.created")
    page = api.get(f"/api/v1/webhooks/{created['id']}/deliveries").json()
    assert [(d["type"], d["event_id"], d["status"], d["response_code"]) for d in page["results"]] == [
        ("deal.created", event.id, "delivered", 200),
        ("webhook.ping", None, "delivered", 200),
    ]
    assert set(page["results"][0]) == {
        "id", "event_id", "type", "attempt", "status", "response_code", "duration_ms", "error",
        "next_attempt_at", "created_at",
    }  # fmt: skip
    assert page["next"] is None


def test_it_signs_with_both_secrets_for_a_day_after_a_rotation(
    api: APIClient, org: Organization, receiver: Receiver, django_capture_on_commit_callbacks: Capture
) -> None:
    created = create_webhook(api, receiver.url, ["deal.created"])
    new_secret = api.post(f"/api/v1/webhooks/{created['id']}/rotate-secret").json()["secret"]
    publish(org, django_capture_on_commit_callbacks, "deal.created")
    [request] = receiver.requests()
    assert len(request.headers["webhook-signature"].split(" ")) == 2
    for secret in (created["secret"], new_secret):
        verify_webhook(request.body, request.headers, secret)


def test_it_checks_the_address_again_at_each_delivery(
    api: APIClient,
    org: Organization,
    receiver: Receiver,
    settings: Any,
    django_capture_on_commit_callbacks: Capture,
) -> None:
    created = create_webhook(api, receiver.url, ["deal.created"])
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = False
    publish(org, django_capture_on_commit_callbacks, "deal.created")
    assert receiver.requests() == []
    attempt = WebhookDelivery.objects.get(endpoint_id=created["id"])
    assert attempt.status == "retrying"
    assert "private address" in attempt.error


def test_it_does_not_follow_redirects(
    api: APIClient, org: Organization, receiver: Receiver, django_capture_on_commit_callbacks: Capture
) -> None:
    created = create_webhook(api, receiver.url, ["deal.created"])
    receiver.status = 307
    publish(org, django_capture_on_commit_callbacks, "deal.created")
    assert len(receiver.requests()) == 1
    attempt = WebhookDelivery.objects.get(endpoint_id=created["id"])
    assert (attempt.status, attempt.response_code) == ("retrying", 307)


def test_it_runs_one_delivery_at_a_time_per_endpoint(
    api: APIClient, org: Organization, receiver: Receiver, django_capture_on_commit_callbacks: Capture
) -> None:
    created = create_webhook(api, receiver.url, ["deal.created"])
    WebhookEndpoint.objects.filter(pk=created["id"]).update(
        claim_token="other-run", claimed_until=timezone.now() + datetime.timedelta(seconds=30)
    )
    publish(org, django_capture_on_commit_callbacks, "deal.created")
    assert delivery.run_endpoint(created["id"]) == 0
    assert receiver.requests() == []
    # A claim whose run died expires, and the sweep picks the endpoint up.
    WebhookEndpoint.objects.filter(pk=created["id"]).update(claimed_until=timezone.now())
    assert delivery.deliver_due() == [created["id"]]
    assert len(receiver.requests()) == 1


def test_it_delivers_nothing_from_a_rolled_back_publish(
    api: APIClient, org: Organization, receiver: Receiver, django_capture_on_commit_callbacks: Capture
) -> None:
    create_webhook(api, receiver.url, ["deal.created"])
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        contextlib.suppress(RuntimeError),
        transaction.atomic(),
    ):
        publish_event(org.pk, "deal.created", {"deal_id": 1, "business_name": "A", "created_by": "x"})
        raise RuntimeError("the request failed after publishing")
    assert callbacks == []
    assert receiver.requests() == []
    assert not Event.objects.filter(organization=org).exists()


def test_it_asks_the_database_nothing_on_a_publish_in_an_organisation_without_webhooks(
    org: Organization, django_capture_on_commit_callbacks: Capture
) -> None:
    publish(org, django_capture_on_commit_callbacks, "deal.created")  # the organisation's answer is now kept
    with CaptureQueriesContext(connection) as queries:
        publish(org, django_capture_on_commit_callbacks, "deal.created", "processing.started")
    endpoint_table = WebhookEndpoint._meta.db_table
    assert len(queries) == 2  # one insert per event, nothing else
    assert not [query for query in queries if endpoint_table in query["sql"]]


def test_it_wakes_an_endpoint_created_after_its_organisation_was_asked(
    api: APIClient, org: Organization, receiver: Receiver, django_capture_on_commit_callbacks: Capture
) -> None:
    publish(org, django_capture_on_commit_callbacks, "deal.created")  # kept: no endpoint
    created = create_webhook(api, receiver.url, ["deal.created"])
    publish(org, django_capture_on_commit_callbacks, "deal.created")
    assert len(receiver.requests()) == 1
    # Deleting it is seen at once too: the next event reads the endpoints again and wakes none.
    assert api.delete(f"/api/v1/webhooks/{created['id']}").status_code == 204
    with CaptureQueriesContext(connection) as queries:
        publish(org, django_capture_on_commit_callbacks, "deal.created")
    endpoint_table = WebhookEndpoint._meta.db_table
    assert [query["sql"].split()[0] for query in queries if endpoint_table in query["sql"]] == ["SELECT"]
    assert len(receiver.requests()) == 1
