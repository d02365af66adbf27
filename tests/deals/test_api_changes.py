"""POST /api/v1/changes/{change_id}/approve and /reject."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from deals.models import Deal, DealStatus, ProposalStatus, ProposedChange
from events.models import Event

pytestmark = pytest.mark.django_db


@pytest.fixture
def change(org) -> ProposedChange:
    deal = Deal.objects.create(organization=org, business_name="Bolt", status=DealStatus.UNDER_REVIEW)
    return ProposedChange.objects.create(
        deal=deal, proposed={"decision": "approved"}, explanation="Score 81.0"
    )


def test_approving_applies_the_decision(api, change):
    response = api.post(f"/api/v1/changes/{change.pk}/approve")
    assert response.status_code == 200
    body = response.json()
    assert body["change_id"] == change.pk
    assert body["status"] == "approved"
    assert body["deal_status"] == "approved"
    change.deal.refresh_from_db()
    assert change.deal.status == DealStatus.APPROVED
    assert change.deal.decided_by == "api_key:test"
    assert [e.type for e in Event.objects.order_by("id")] == ["deal.decision", "deal.status_changed"]
    assert Event.objects.get(type="deal.decision").data["decided_by"] == "api_key:test"


def test_rejecting_discards_the_proposal(api, change):
    response = api.post(f"/api/v1/changes/{change.pk}/reject")
    assert response.status_code == 200
    assert response.json()["status"] == "rejected"
    change.deal.refresh_from_db()
    assert change.deal.status == DealStatus.UNDER_REVIEW
    assert [
        (e.type, e.data["change_id"], e.data["deal_id"], e.data["rejected_by"]) for e in Event.objects.all()
    ] == [("proposal.rejected", change.pk, change.deal_id, "api_key:test")]
    # The deal can still be decided directly.
    decided = api.post(f"/api/v1/deals/{change.deal_id}/decision", {"decision": "declined"}, format="json")
    assert decided.status_code == 200


@pytest.mark.parametrize("action", ["approve", "reject"])
@pytest.mark.parametrize(
    "status", [ProposalStatus.APPROVED, ProposalStatus.REJECTED, ProposalStatus.SUPERSEDED]
)
def test_a_closed_proposal_is_a_conflict(api, change, action, status):
    ProposedChange.objects.filter(pk=change.pk).update(status=status)
    response = api.post(f"/api/v1/changes/{change.pk}/{action}")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "change_not_open"


def test_approving_twice_is_a_conflict(api, change):
    assert api.post(f"/api/v1/changes/{change.pk}/approve").status_code == 200
    assert api.post(f"/api/v1/changes/{change.pk}/approve").status_code == 409
    assert Event.objects.filter(type="deal.decision").count() == 1


@pytest.mark.parametrize("action", ["approve", "reject"])
def test_another_organisations_change_is_not_found(api, other_org, action):
    deal = Deal.objects.create(organization=other_org, business_name="T", status=DealStatus.UNDER_REVIEW)
    theirs = ProposedChange.objects.create(deal=deal, proposed={"decision": "approved"}, explanation="x")
    assert api.post(f"/api/v1/changes/{theirs.pk}/{action}").status_code == 404
    theirs.refresh_from_db()
    assert theirs.status == ProposalStatus.OPEN


def test_an_unknown_change_is_not_found(api):
    assert api.post("/api/v1/changes/ch_nope/approve").status_code == 404


def test_it_needs_the_write_scope(org, change, make_key):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {make_key(org, scopes=['read'])}")
    assert client.post(f"/api/v1/changes/{change.pk}/approve").status_code == 403


def test_a_malformed_change_id_is_not_found(api):
    assert api.post("/api/v1/changes/ch_%00/approve").status_code == 404


def test_a_rejection_is_on_the_deal_and_org_feeds(api, change):
    assert api.post(f"/api/v1/changes/{change.pk}/reject").status_code == 200
    for query in (f"deal_id={change.deal_id}", ""):
        log = api.get(f"/api/v1/events/log?type=proposal.rejected&{query}").json()["results"]
        assert [(e["type"], e["data"]["change_id"], e["data"]["rejected_by"]) for e in log] == [
            ("proposal.rejected", change.pk, "api_key:test")
        ]
    stored = Event.objects.get(type="proposal.rejected")
    assert stored.deal_id == change.deal_id
    assert stored.in_org_feed
