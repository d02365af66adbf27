"""The statement pipeline end to end in process: stage events, failures, review, proposals, decisions."""

from __future__ import annotations

from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from accounts.models import Organization
from deals.models import Deal, DealStatus, ProposalStatus, ProposedChange, Statement, StatementStatus
from jobs.models import Job, JobStatus
from tests.jobs.factories import STAGE_EVENTS, events, healthy_csv, stage_events, statement_files, upload

pytestmark = pytest.mark.django_db


def create_deal(api: APIClient, name: str = "Bolt Logistics") -> int:
    response = api.post("/api/v1/deals", {"business_name": name}, format="json")
    assert response.status_code == 201, response.content
    return int(response.json()["id"])


def upload_statement(api: APIClient, deal_id: int, name: str, content: bytes) -> dict:
    response = api.post(
        f"/api/v1/deals/{deal_id}/statements", {"file": upload(name, content)}, format="multipart"
    )
    assert response.status_code == 202, response.content
    return response.json()


def test_it_processes_three_formats_and_a_bad_file(api, org, django_capture_on_commit_callbacks):
    deal_id = create_deal(api)
    accepted = []
    for name, content in statement_files():
        with django_capture_on_commit_callbacks(execute=True):
            accepted.append(upload_statement(api, deal_id, name, content))
    good, bad = accepted[:3], accepted[3]

    for item in good:
        assert stage_events(item["statement_id"]) == STAGE_EVENTS
    assert stage_events(bad["statement_id"]) == [
        ("processing.started", "extracting_text", 0),
        ("processing.failed", None, None),
    ]
    failed = events(type="processing.failed")
    assert [e.data["error"] for e in failed] == ["Unsupported file format"]
    # Each start counts the deal's statements so far, for live lists.
    assert [e.data["statement_count"] for e in events(type="processing.started")] == [1, 2, 3, 4]

    transitions = [(e.data["old_status"], e.data["new_status"]) for e in events(type="deal.status_changed")]
    # Inline jobs finish before the next upload, so the deal goes back and forth; each move once.
    assert (
        transitions
        == [("new", "processing"), ("processing", "under_review")]
        + [
            ("under_review", "processing"),
            ("processing", "under_review"),
        ]
        * 3
    )
    last_review = events(type="deal.status_changed")[-1]
    assert last_review.id > max(e.id for e in events(type__startswith="processing."))

    proposals = events(type="proposed_change")
    assert len(proposals) == 4  # one per review; each new statement superseded the previous one
    assert ProposedChange.objects.filter(deal_id=deal_id, status=ProposalStatus.OPEN).count() == 1
    open_change = ProposedChange.objects.get(deal_id=deal_id, status=ProposalStatus.OPEN)
    assert proposals[-1].data["change_id"] == open_change.pk
    assert proposals[-1].data["operation"] == "set_decision"
    assert proposals[-1].data["proposed"]["decision"] in {"approved", "declined"}
    assert proposals[-1].data["explanation"].startswith("Health score")

    deal = Deal.objects.get(pk=deal_id)
    assert deal.status == DealStatus.UNDER_REVIEW
    assert deal.health_score is not None
    assert Decimal(0) <= deal.health_score <= Decimal(100)
    assert deal.explanations

    response = api.post(f"/api/v1/changes/{open_change.pk}/approve")
    assert response.status_code == 200, response.content
    decision = events(type="deal.decision")
    assert len(decision) == 1
    assert decision[0].data["decision"] == open_change.proposed["decision"]
    assert decision[0].data["decided_by"] == "api_key:test"
    assert events(type="deal.status_changed")[-1].data["new_status"] == open_change.proposed["decision"]


def test_it_moves_to_review_once_when_statements_finish_together(
    api, org, django_capture_on_commit_callbacks
):
    deal_id = create_deal(api)
    # The jobs run only after all four uploads: the deal stays in processing until the last ends.
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        accepted = [upload_statement(api, deal_id, name, content) for name, content in statement_files()]
    for callback in callbacks:
        callback()

    transitions = [(e.data["old_status"], e.data["new_status"]) for e in events(type="deal.status_changed")]
    assert transitions == [("new", "processing"), ("processing", "under_review")]
    review = events(type="deal.status_changed")[-1]
    last_statement_event = events(type__in=["processing.completed", "processing.failed"])[-1]
    assert review.id > last_statement_event.id
    assert last_statement_event.data["statement_id"] == accepted[-1]["statement_id"]
    assert len(events(type="proposed_change")) == 1
    assert sorted(Statement.objects.values_list("status", flat=True)) == [
        StatementStatus.COMPLETED,
        StatementStatus.COMPLETED,
        StatementStatus.COMPLETED,
        StatementStatus.FAILED,
    ]


def test_it_publishes_the_job_events_in_order(api, org, django_capture_on_commit_callbacks):
    deal_id = create_deal(api)
    with django_capture_on_commit_callbacks(execute=True):
        accepted = upload_statement(api, deal_id, "january.csv", healthy_csv())
    job_events = [(e.type, e.data) for e in events(job_id=accepted["job_id"])]
    assert [t for t, _ in job_events] == [
        "status",
        "status",
        "progress",
        "progress",
        "progress",
        "progress",
        "completed",
        "usage",
    ]
    assert [d["status"] for t, d in job_events if t == "status"] == ["queued", "started"]
    assert [(d["progress"], d["message"]) for t, d in job_events if t == "progress"] == [
        (0.0, "extracting_text"),
        (0.25, "parsing"),
        (0.5, "screening"),
        (0.75, "scoring"),
    ]
    completed = job_events[-2][1]
    assert completed["status"] == "completed"
    assert completed["results"]["statement_id"] == accepted["statement_id"]
    assert completed["results"]["transaction_count"] == 46
    usage = job_events[-1][1]
    assert usage == {
        **usage,
        "job_id": accepted["job_id"],
        "monthly_used": 1,
        "monthly_limit": 500,
        "monthly_remaining": 499,
        "was_billable": True,
        "subscription_tier": "free",
    }
    job = Job.objects.get(pk=accepted["job_id"])
    assert (job.status, job.progress, job.attempts) == (JobStatus.COMPLETED, 1.0, 1)
    # Events a request caused carry its id, also when a worker publishes them.
    caused = [e for e in events() if e.type != "deal.created"]
    assert {e.type for e in caused} >= {
        "processing.completed",
        "deal.status_changed",
        "proposed_change",
        "usage",
    }
    assert len({e.data.get("request_id") for e in caused}) == 1
    assert caused[0].data["request_id"]


def test_a_new_statement_supersedes_the_open_proposal(api, org, django_capture_on_commit_callbacks):
    deal_id = create_deal(api)
    with django_capture_on_commit_callbacks(execute=True):
        upload_statement(api, deal_id, "january.csv", healthy_csv())
    first = ProposedChange.objects.get(deal_id=deal_id)
    assert first.status == ProposalStatus.OPEN

    with django_capture_on_commit_callbacks(execute=True):
        upload_statement(api, deal_id, "march.csv", healthy_csv())
    first.refresh_from_db()
    assert first.status == ProposalStatus.SUPERSEDED
    second = ProposedChange.objects.get(deal_id=deal_id, status=ProposalStatus.OPEN)
    assert [e.data["change_id"] for e in events(type="proposed_change")] == [first.pk, second.pk]

    # The superseded proposal can no longer be applied.
    response = api.post(f"/api/v1/changes/{first.pk}/approve")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "change_not_open"
    assert api.post(f"/api/v1/changes/{second.pk}/approve").status_code == 200


def test_a_deal_whose_statements_all_fail_gets_no_proposal(api, org, django_capture_on_commit_callbacks):
    deal_id = create_deal(api)
    with django_capture_on_commit_callbacks(execute=True):
        upload_statement(api, deal_id, "notes.txt", b"just some words without any separator at all\n")
    deal = Deal.objects.get(pk=deal_id)
    # Nothing in flight, so under review (spec §5), but with nothing to propose on: it waits
    # for documents, and no proposal exists that one click could apply.
    assert deal.status == DealStatus.UNDER_REVIEW
    assert deal.health_score is None
    assert deal.recommendation == ""
    assert events(type="proposed_change") == []
    assert not ProposedChange.objects.filter(deal_id=deal_id).exists()
    body = api.get(f"/api/v1/deals/{deal_id}").json()
    assert body["proposal"] is None
    assert "waits for documents" in body["explanations"][0]

    # A readable statement afterwards is scored and proposed as usual.
    with django_capture_on_commit_callbacks(execute=True):
        upload_statement(api, deal_id, "january.csv", healthy_csv())
    assert len(events(type="proposed_change")) == 1


def test_stage_durations_are_recorded(api, org, django_capture_on_commit_callbacks):
    from core.metrics import REGISTRY

    def count(stage: str) -> float:
        value = REGISTRY.get_sample_value(
            "dealstream_pipeline_stage_seconds_count", {"pipeline": "statement", "stage": stage}
        )
        return value or 0.0

    before = {stage: count(stage) for stage in ("extracting_text", "parsing", "screening", "scoring")}
    deal_id = create_deal(api)
    with django_capture_on_commit_callbacks(execute=True):
        upload_statement(api, deal_id, "january.csv", healthy_csv())
    assert all(count(stage) == before[stage] + 1 for stage in before)


def test_it_keeps_other_organisations_apart(api, org, other_org: Organization, make_key):
    deal_id = create_deal(api)
    rival = APIClient()
    rival.credentials(HTTP_AUTHORIZATION=f"Bearer {make_key(other_org)}")
    assert rival.get(f"/api/v1/deals/{deal_id}").status_code == 404
