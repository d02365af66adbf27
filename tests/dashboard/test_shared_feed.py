"""Pages share the organisation's feed between tabs and pick out their own events.

The route a page gets (`live.shared`) must select, from the organisation's feed, exactly the
events its own deal or batch feed would have carried: the browser applies it as written here
(type among `types`, `data[field]` equal to `value`).
"""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.contrib.staticfiles import finders
from django.test import Client

from accounts.models import Organization, Role
from deals import services
from deals.models import Deal
from events.catalogue import BATCH, DEAL
from events.models import Event
from events.publish import publish_event
from tests.dashboard.conftest import logged_in
from tests.dashboard.test_pages import live_config
from tests.jobs.factories import healthy_csv

pytestmark = pytest.mark.django_db


def picked(org: Organization, route: dict[str, Any]) -> list[int]:
    """The org-feed events a page keeps, by the rule dashboard.js applies."""
    return [
        event.id
        for event in Event.objects.for_feed(org.pk, "org").order_by("id")
        if event.type in route["types"] and str(event.data.get(route["field"])) == str(route["value"])
    ]


def test_a_deal_page_keeps_exactly_its_deal_feed(
    underwriter_client: Client, org: Organization, deal: Deal, django_capture_on_commit_callbacks: Any
):
    other = services.create_deal(org, business_name="Other Deal", created_by="x")
    with django_capture_on_commit_callbacks(execute=True):
        services.add_statements(
            org, deal.pk, [services.Document("a.csv", io.BytesIO(healthy_csv()), 1)], created_by="x"
        )
        services.add_statements(
            org, other.pk, [services.Document("b.csv", io.BytesIO(healthy_csv()), 1)], created_by="x"
        )
    publish_event(org.pk, "deal.decision", {"deal_id": deal.pk, "decision": "approved", "decided_by": "x"})
    route = live_config(underwriter_client.get(f"/deals/{deal.pk}"))["shared"]
    assert route["feed"] == "/api/v1/events"
    assert (route["field"], route["value"]) == ("deal_id", deal.pk)
    assert "deal.created" not in route["types"]  # names the deal, but only the org feed has it
    expected = list(Event.objects.for_feed(org.pk, DEAL, deal.pk).order_by("id").values_list("id", flat=True))
    assert len(expected) > 3
    assert picked(org, route) == expected


def test_a_batch_page_keeps_exactly_its_batch_feed(
    underwriter_client: Client, org: Organization, deal: Deal, django_capture_on_commit_callbacks: Any
):
    def documents() -> list[services.Document]:
        return [
            services.Document("good.csv", io.BytesIO(healthy_csv()), 1),
            services.Document("notes.txt", io.BytesIO(b"hello"), 5),
        ]

    with django_capture_on_commit_callbacks(execute=True):
        _, batch = services.add_statements(org, deal.pk, documents(), created_by="x", as_batch=True)
        _, other = services.add_statements(org, deal.pk, documents(), created_by="x", as_batch=True)
    assert batch is not None
    assert other is not None
    route = live_config(underwriter_client.get(f"/batches/{batch.pk}"))["shared"]
    assert (route["field"], route["value"]) == ("batch_id", batch.pk)
    expected = list(
        Event.objects.for_feed(org.pk, BATCH, batch.pk).order_by("id").values_list("id", flat=True)
    )
    assert len(expected) == 3  # two documents and the completion
    assert picked(org, route) == expected


def test_org_pages_keep_everything_and_each_user_has_a_worker(
    underwriter_client: Client, org: Organization, make_user: Any
):
    shared = live_config(underwriter_client.get("/"))["shared"]
    assert "field" not in shared
    assert live_config(underwriter_client.get("/activity"))["shared"] == shared
    assert finders.find(shared["worker"].removeprefix("/static/"))  # an app static file
    # Someone else signing in in the same browser must not get this user's stream.
    viewer = logged_in(make_user(org, Role.VIEWER))
    assert live_config(viewer.get("/"))["shared"]["name"] != shared["name"]
