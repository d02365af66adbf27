"""The dashboard's words: every catalogue event has a sentence, bands never rely on colour."""

from __future__ import annotations

from decimal import Decimal

import pytest

from dashboard import presentation
from events.catalogue import EVENT_FEEDS, ORG


def test_every_org_feed_event_has_a_title_and_a_sentence():
    for event_type, feeds in EVENT_FEEDS.items():
        if ORG in feeds:
            assert event_type in presentation.EVENT_TITLES
            assert event_type in presentation.EVENT_SENTENCES
            # Listed in the activity feed, or a progress step the feed leaves out on purpose.
            assert (event_type in presentation.ACTIVITY_TYPES) != (event_type in presentation.PROGRESS_STEPS)


@pytest.mark.parametrize(
    ("event_type", "data", "sentence"),
    [
        ("deal.created", {"business_name": "Acme", "created_by": "ann"}, "ann created the deal “Acme”."),
        (
            "processing.progress",
            {"statement_id": 4, "stage": "parsing", "progress": 25},
            "Statement 4: Reading transactions (25 %).",
        ),
        (
            "processing.completed",
            {"statement_id": 4, "health_score": 70.0},
            "Statement 4 processed. Health score is now 70.0.",
        ),
        (
            "processing.completed",
            {"statement_id": 4, "health_score": None},
            "Statement 4 processed. Health score is now —.",
        ),
        (
            "deal.status_changed",
            {"old_status": "under_review", "new_status": "approved"},
            "Status changed from Under review to Approved.",
        ),
        (
            "proposed_change",
            {"proposed": {"decision": "declined"}, "explanation": "Low."},
            "Suggested decision: Declined. Low.",
        ),
        ("deal.decision", {"decision": "approved", "decided_by": "ann"}, "Approved by ann."),
        (
            "batch.document_failed",
            {"document_id": 9, "progress": "3/5", "error": "Bad"},
            "Document 9 failed (3/5 done): Bad",
        ),
        ("something.else", {}, "something.else"),
    ],
)
def test_it_describes_events_in_plain_words(event_type, data, sentence):
    assert presentation.describe_event(event_type, data) == sentence


@pytest.mark.parametrize(
    ("score", "band"),
    [
        (None, "none"),
        (Decimal("0.0"), "weak"),
        (Decimal("59.9"), "weak"),
        (Decimal("60.0"), "fair"),
        (80.5, "strong"),
    ],
)
def test_score_bands_come_with_a_label(score, band):
    key, label = presentation.score_band(score)
    assert key == band
    assert label  # never colour alone


def test_fair_starts_where_the_scorer_proposes_approval():
    from deals.underwriting import APPROVE_MIN_SCORE

    assert presentation.score_band(APPROVE_MIN_SCORE)[0] == "fair"
    assert presentation.score_band(APPROVE_MIN_SCORE - Decimal("0.1"))[0] == "weak"


def test_progress_follows_the_pipeline_stages():
    assert presentation.stage_percent("queued", "") == 0
    assert presentation.stage_percent("processing", "screening") == 50
    assert presentation.stage_percent("completed", "completed") == 100


def test_figures_read_like_money_and_percentages():
    assert presentation.format_figure("average_daily_balance", "15643.98") == "15,643.98"
    assert presentation.format_figure("negative_day_share", "0.0333") == "3.3 %"
    assert presentation.format_figure("lenders", []) == "None"
    assert presentation.format_figure("lenders", ["ONDECK", "KABBAGE"]) == "ONDECK, KABBAGE"


def test_the_browser_gets_the_same_vocabulary():
    vocabulary = presentation.vocabulary()
    assert vocabulary["sentences"] == presentation.EVENT_SENTENCES
    assert vocabulary["labels"]["stages"] == presentation.STAGE_LABELS
    assert [band[1] for band in vocabulary["bands"]] == ["strong", "fair", "weak"]
