"""The dashboard's pages render their state server-side, with the cursor their live feed starts from."""

from __future__ import annotations

import json
import re

import pytest
from django.test import Client

from accounts.models import Organization
from deals import services
from deals.models import Deal
from events.models import Event
from events.publish import publish_event
from tests.dashboard.conftest import open_proposal

pytestmark = pytest.mark.django_db


def live_config(response) -> dict:
    match = re.search(
        r'<script id="ds-live" type="application/json">(.*?)</script>', response.content.decode(), re.S
    )
    assert match, "the page carries no live configuration"
    return json.loads(match.group(1))


def newest_event_id(org: Organization) -> int:
    return Event.objects.filter(organization=org).order_by("-id").values_list("id", flat=True).first() or 0


def test_the_deal_list_shows_deals_with_status_and_score(underwriter_client: Client, reviewed_deal: Deal):
    response = underwriter_client.get("/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Bolt Logistics" in html
    assert 'data-status="under_review"' in html
    assert f"{reviewed_deal.health_score}" in html
    # The band is written out next to its colour.
    assert re.search(r'class="score__label">(Strong|Fair|Weak)<', html)
    config = live_config(response)
    assert config["feed"] == "/api/v1/events"
    assert config["cursor"] == newest_event_id(reviewed_deal.organization)


def test_the_deal_list_filters_by_status_and_search(
    underwriter_client: Client, org: Organization, deal: Deal
):
    services.create_deal(org, business_name="Acme Plumbing", created_by="x")
    html = underwriter_client.get("/?search=acme").content.decode()
    assert "Acme Plumbing" in html
    assert "Bolt Logistics" not in html
    html = underwriter_client.get("/?status=approved").content.decode()
    assert "Acme Plumbing" not in html
    assert "No deal matches this filter." in html
    # Only the unfiltered first page inserts new deals live.
    assert live_config(underwriter_client.get("/?status=new"))["insertNew"] is False
    assert live_config(underwriter_client.get("/"))["insertNew"] is True


def test_it_creates_a_deal_through_the_service(underwriter_client: Client, underwriter, org: Organization):
    response = underwriter_client.post(
        "/deals/new", {"business_name": "Cedar Cafe", "amount_requested": "25000"}
    )
    deal = Deal.objects.get(business_name="Cedar Cafe")
    assert response.status_code == 302
    assert response["Location"] == f"/deals/{deal.pk}"
    assert deal.organization == org
    created = Event.objects.get(type="deal.created")
    assert created.data["created_by"] == underwriter.email


def test_it_shows_the_errors_of_an_invalid_new_deal(underwriter_client: Client):
    response = underwriter_client.post("/deals/new", {"business_name": ""})
    assert response.status_code == 400
    assert "This field is required." in response.content.decode()
    assert not Deal.objects.exists()


def test_the_deal_page_shows_statements_assessment_proposal_and_log(
    underwriter_client: Client, reviewed_deal: Deal
):
    response = underwriter_client.get(f"/deals/{reviewed_deal.pk}")
    assert response.status_code == 200
    html = response.content.decode()
    statement = reviewed_deal.statements.get()
    assert f'data-statement-id="{statement.pk}"' in html
    assert 'role="progressbar"' in html
    assert 'aria-valuenow="100"' in html
    assert "Health score" in html
    assert str(reviewed_deal.health_score) in html
    assert open_proposal(reviewed_deal).pk in html
    assert "Approve as suggested" in html
    assert "Reject suggestion" in html
    assert "Record decision" in html
    # The event log, newest first, in plain words.
    assert (
        html.index("Decision proposed") < html.index("Statement processed") < html.index("Processing started")
    )
    config = live_config(response)
    assert config["feed"] == f"/api/v1/events/deals/{reviewed_deal.pk}"
    assert config["cursor"] == newest_event_id(reviewed_deal.organization)
    assert config["reviewUrl"] == f"/deals/{reviewed_deal.pk}/review"


def test_the_review_fragment_is_the_block_the_page_swaps(underwriter_client: Client, reviewed_deal: Deal):
    response = underwriter_client.get(f"/deals/{reviewed_deal.pk}/review")
    assert response.status_code == 200
    html = response.content.decode()
    assert html.startswith('<div id="deal-review" data-version="under_review:')
    assert "<html" not in html
    assert "Approve as suggested" in html


def test_the_cursor_is_read_before_the_state(underwriter_client: Client, org: Organization, deal: Deal):
    """An event stored after the page's cursor is replayed by the feed, never lost in between."""
    response = underwriter_client.get(f"/deals/{deal.pk}")
    cursor = live_config(response)["cursor"]
    later = publish_event(
        org.pk, "deal.status_changed", {"deal_id": deal.pk, "old_status": "new", "new_status": "processing"}
    )
    assert later.id > cursor


def test_the_cursor_never_points_below_pruned_history(
    underwriter_client: Client, org: Organization, deal: Deal
):
    from events.models import OrgEventSequence

    Event.objects.all().delete()
    OrgEventSequence.objects.filter(organization=org).update(pruned_through_id=500)
    assert live_config(underwriter_client.get("/"))["cursor"] == 500


def test_the_activity_page_lists_the_org_feed_newest_first(underwriter_client: Client, reviewed_deal: Deal):
    response = underwriter_client.get("/activity")
    assert response.status_code == 200
    html = response.content.decode()
    assert html.index('data-type="proposed_change"') < html.index('data-type="deal.created"')
    assert "Bolt Logistics" in html  # events name their deal
    config = live_config(response)
    assert config["feed"] == "/api/v1/events"
    assert config["type"] == ""


def test_the_activity_page_filters_by_event_type(underwriter_client: Client, reviewed_deal: Deal):
    response = underwriter_client.get("/activity?type=deal.created")
    html = response.content.decode()
    assert html.count('data-type="deal.created"') == 1
    assert 'data-type="processing.started"' not in html
    assert live_config(response)["type"] == "deal.created"


def test_the_activity_page_pages_back_without_going_live(
    underwriter_client: Client, org: Organization, deal: Deal
):
    for n in range(60):
        services.create_deal(org, business_name=f"Shop {n}", created_by="x")
    html = underwriter_client.get("/activity").content.decode()
    match = re.search(r"before=(\d+)", html)
    assert match
    older = underwriter_client.get(f"/activity?before={match.group(1)}")
    assert older.status_code == 200
    assert "Back to the latest" in older.content.decode()
    assert 'id="ds-live"' not in older.content.decode()


def test_the_batch_page_shows_progress_and_results(
    underwriter_client: Client, org: Organization, deal: Deal, django_capture_on_commit_callbacks
):
    import io

    from tests.jobs.factories import healthy_csv

    documents = [
        services.Document("good.csv", io.BytesIO(healthy_csv()), len(healthy_csv())),
        services.Document("notes.txt", io.BytesIO(b"hello"), 5),
    ]
    with django_capture_on_commit_callbacks(execute=True):
        _, batch = services.add_statements(org, deal.pk, documents, created_by="x", as_batch=True)
    assert batch is not None
    response = underwriter_client.get(f"/batches/{batch.pk}")
    assert response.status_code == 200
    html = response.content.decode()
    assert '<span id="batch-count">2/2</span>' in html
    assert "Finished: 1 processed, 1 failed." in html
    assert "good.csv" in html
    assert "notes.txt" in html
    assert 'class="error-text"' in html
    assert live_config(response)["finished"] is True


def test_the_login_page_is_styled_and_logs_in(client: Client, underwriter):
    underwriter.set_password("s3cret-pass")
    underwriter.save()
    page = client.get("/login")
    assert page.status_code == 200
    assert "dashboard.css" in page.content.decode()
    response = client.post("/login", {"username": underwriter.username, "password": "s3cret-pass"})
    assert response.status_code == 302
    assert response["Location"] == "/"


def test_logout_needs_a_post(underwriter_client: Client):
    response = underwriter_client.post("/logout")
    assert response.status_code == 302
    assert underwriter_client.get("/").status_code == 302
