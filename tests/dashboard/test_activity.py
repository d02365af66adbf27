"""The activity feed: one dated line per outcome, naming its deal, with a "decisions only" preset."""

from __future__ import annotations

import io
import re

import pytest
from django.test import Client
from django.utils.timezone import localtime

from accounts.models import Organization
from dashboard import presentation
from deals import services
from deals.models import Deal
from events.models import Event
from tests.dashboard.conftest import open_proposal
from tests.dashboard.test_pages import live_config
from tests.jobs.factories import healthy_csv

pytestmark = pytest.mark.django_db


def listed_types(html: str) -> list[str]:
    return re.findall(r'<li class="event [^"]*" data-event-id="\d+" data-type="([^"]+)"', html)


def test_it_lists_one_line_per_statement_outcome_not_per_progress_step(
    underwriter_client: Client, org: Organization, reviewed_deal: Deal
):
    stored = set(Event.objects.filter(organization=org, in_org_feed=True).values_list("type", flat=True))
    assert {"processing.started", "processing.progress"} <= stored  # the steps were published

    html = underwriter_client.get("/activity").content.decode()

    types = listed_types(html)
    assert types.count("processing.completed") == 1
    assert "processing.progress" not in types
    assert "processing.started" not in types
    assert "deal.created" in types
    feed = html[html.index('id="activity"') : html.index("</ol>")]
    assert "%" not in feed  # no percentages anywhere in the feed


def test_it_dates_every_line_and_names_the_deal_in_the_sentence(
    underwriter_client: Client, org: Organization, reviewed_deal: Deal
):
    html = underwriter_client.get("/activity").content.decode()

    completed = Event.objects.get(organization=org, type="processing.completed")
    stamp = localtime(completed.created_at)
    line = re.search(rf'data-event-id="{completed.pk}".*?</li>', html, re.S)
    assert line
    text = re.sub(r"<[^>]+>", "", line.group(0))
    assert f"{stamp.day} {stamp:%b %Y}, {stamp:%H:%M}" in text  # the date, not only the time
    assert re.search(r"Bolt Logistics: Statement \d+ processed\.", " ".join(text.split()))


def test_the_decisions_preset_lists_proposals_rejections_and_decisions_only(
    underwriter_client: Client, org: Organization, reviewed_deal: Deal
):
    services.reject_change(org, open_proposal(reviewed_deal).pk, resolved_by="uw@example.test")

    response = underwriter_client.get("/activity?type=decisions")

    assert response.status_code == 200
    types = listed_types(response.content.decode())
    assert set(types) == {"proposed_change", "proposal.rejected"}
    assert live_config(response)["types"] == list(presentation.DECISION_TYPES)
    assert 'aria-current="page"' in response.content.decode()


@pytest.mark.parametrize(
    ("event_type", "data", "sentence"),
    [
        ("proposal.rejected", {"rejected_by": "ann"}, "ann rejected the suggested decision."),
        (
            "deal.rescored",
            {
                "previous_score": 61.0,
                "health_score": 58.5,
                "changed_by": "ann",
                "reason": "rent is not revenue",
            },
            "Health score 61.0 → 58.5 (ann): rent is not revenue",
        ),
        ("statement.removed", {"removed_by": "ann", "statement_id": 7}, "ann removed statement 7."),
    ],
)
def test_it_has_a_sentence_for_the_newer_events(event_type: str, data: dict, sentence: str):
    assert event_type in presentation.ACTIVITY_TYPES
    assert presentation.describe_event(event_type, data) == sentence


def test_screen_readers_hear_outcomes_from_an_announcer_not_the_whole_list(
    underwriter_client: Client, reviewed_deal: Deal
):
    html = underwriter_client.get("/activity").content.decode()

    assert re.search(r'<ol class="events events--wide" id="activity">', html)  # the list is not live
    feed = html[html.index('id="activity"') : html.index("</ol>")]
    assert "aria-live" not in feed
    assert "progressbar" not in feed
    assert re.search(r'aria-live="polite" data-announcer', html)
    assert live_config(underwriter_client.get("/activity"))["types"] == list(presentation.ACTIVITY_TYPES)


def test_a_batch_lists_each_statement_once_and_its_end(
    underwriter_client: Client, org: Organization, deal: Deal, django_capture_on_commit_callbacks
):
    documents = [
        services.Document(name, io.BytesIO(healthy_csv()), len(healthy_csv())) for name in ("a.csv", "b.csv")
    ]
    with django_capture_on_commit_callbacks(execute=True):
        services.add_statements(org, deal.pk, documents, created_by="test", as_batch=True)

    types = listed_types(underwriter_client.get("/activity").content.decode())

    assert types.count("processing.completed") == 2
    assert types.count("batch.completed") == 1
    assert "batch.document_processed" not in types


def test_an_unknown_filter_value_is_ignored_not_an_error(underwriter_client: Client, reviewed_deal: Deal):
    response = underwriter_client.get("/activity?type=processing.progress")

    assert response.status_code == 200
    assert "processing.progress" not in listed_types(response.content.decode())
