"""Approving, rejecting and deciding from the deal page: the services the API uses, the same events."""

from __future__ import annotations

import pytest
from django.test import Client

from deals.models import Deal, DealStatus, ProposalStatus
from events.models import Event
from tests.dashboard.conftest import open_proposal

pytestmark = pytest.mark.django_db


def test_approving_the_proposal_takes_its_decision(
    underwriter_client: Client, underwriter, reviewed_deal: Deal
):
    change = open_proposal(reviewed_deal)
    response = underwriter_client.post(f"/changes/{change.pk}/approve")
    assert response.status_code == 302
    assert response["Location"] == f"/deals/{reviewed_deal.pk}"
    reviewed_deal.refresh_from_db()
    change.refresh_from_db()
    assert change.status == ProposalStatus.APPROVED
    assert reviewed_deal.status == change.proposed["decision"]
    decision = Event.objects.get(type="deal.decision")
    assert decision.data["decided_by"] == underwriter.email
    page = underwriter_client.get(response["Location"]).content.decode()
    assert "Proposal approved." in page
    assert 'id="decision-outcome"' in page
    assert f"Decided by {underwriter.email}" in page


def test_rejecting_the_proposal_leaves_the_deal_for_a_decision(
    underwriter_client: Client, underwriter, reviewed_deal: Deal
):
    change = open_proposal(reviewed_deal)
    underwriter_client.post(f"/changes/{change.pk}/reject")
    reviewed_deal.refresh_from_db()
    assert reviewed_deal.status == DealStatus.UNDER_REVIEW
    rejected = Event.objects.get(type="proposal.rejected")
    assert rejected.data["change_id"] == change.pk
    assert rejected.data["deal_id"] == reviewed_deal.pk
    assert rejected.data["rejected_by"] == underwriter.email
    assert rejected.deal_id == reviewed_deal.pk
    assert rejected.in_org_feed
    page = underwriter_client.get(f"/deals/{reviewed_deal.pk}").content.decode()
    assert f"The suggestion was rejected by {underwriter.email}." in page
    assert "Record decision" in page


def test_a_direct_decision_with_a_note(underwriter_client: Client, reviewed_deal: Deal):
    response = underwriter_client.post(
        f"/deals/{reviewed_deal.pk}/decision", {"decision": "declined", "note": "Seasonal business"}
    )
    assert response.status_code == 302
    reviewed_deal.refresh_from_db()
    assert reviewed_deal.status == DealStatus.DECLINED
    assert reviewed_deal.decision_note == "Seasonal business"
    # A direct decision supersedes the open proposal.
    assert not reviewed_deal.proposals.filter(status=ProposalStatus.OPEN).exists()


def test_a_decision_needs_a_choice(underwriter_client: Client, reviewed_deal: Deal):
    response = underwriter_client.post(
        f"/deals/{reviewed_deal.pk}/decision", {"decision": "maybe"}, follow=True
    )
    assert "Choose Approve or Decline" in response.content.decode()
    reviewed_deal.refresh_from_db()
    assert reviewed_deal.status == DealStatus.UNDER_REVIEW


def test_deciding_a_deal_not_under_review_says_why(underwriter_client: Client, deal: Deal):
    response = underwriter_client.post(f"/deals/{deal.pk}/decision", {"decision": "approved"}, follow=True)
    assert "Only a deal under review can be decided" in response.content.decode()
    deal.refresh_from_db()
    assert deal.status == DealStatus.NEW


def test_approving_a_proposal_twice_says_it_is_closed(underwriter_client: Client, reviewed_deal: Deal):
    change = open_proposal(reviewed_deal)
    underwriter_client.post(f"/changes/{change.pk}/approve")
    response = underwriter_client.post(f"/changes/{change.pk}/approve", follow=True)
    assert "no longer open" in response.content.decode()
