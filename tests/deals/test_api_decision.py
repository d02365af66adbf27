"""POST /api/v1/deals/{id}/decision."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from deals.models import Deal, DealStatus, ProposalStatus, ProposedChange
from events.models import Event

pytestmark = pytest.mark.django_db


@pytest.fixture
def deal(org) -> Deal:
    return Deal.objects.create(organization=org, business_name="Bolt", status=DealStatus.UNDER_REVIEW)


def test_it_decides_a_deal_under_review(api, deal):
    response = api.post(
        f"/api/v1/deals/{deal.pk}/decision", {"decision": "declined", "note": "Too thin"}, format="json"
    )
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "declined"
    assert body["decision"]["decision"] == "declined"
    assert body["decision"]["note"] == "Too thin"
    assert body["decision"]["decided_by"] == "api_key:test"
    decision = Event.objects.get(type="deal.decision")
    assert decision.data == {
        **decision.data,
        "deal_id": deal.pk,
        "decision": "declined",
        "decided_by": "api_key:test",
    }
    changed = Event.objects.get(type="deal.status_changed")
    assert (changed.data["old_status"], changed.data["new_status"]) == ("under_review", "declined")


def test_it_supersedes_an_open_proposal(api, deal):
    change = ProposedChange.objects.create(deal=deal, proposed={"decision": "approved"}, explanation="x")
    assert (
        api.post(f"/api/v1/deals/{deal.pk}/decision", {"decision": "approved"}, format="json").status_code
        == 200
    )
    change.refresh_from_db()
    assert change.status == ProposalStatus.SUPERSEDED


@pytest.mark.parametrize(
    "status", [DealStatus.NEW, DealStatus.PROCESSING, DealStatus.APPROVED, DealStatus.DECLINED]
)
def test_it_refuses_a_deal_not_under_review(api, deal, status):
    Deal.objects.filter(pk=deal.pk).update(status=status)
    response = api.post(f"/api/v1/deals/{deal.pk}/decision", {"decision": "approved"}, format="json")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "deal_not_under_review"
    assert not Event.objects.filter(type="deal.decision").exists()


@pytest.mark.parametrize("body", [{}, {"decision": "maybe"}, {"decision": "approved", "note": ["x"]}])
def test_it_validates(api, deal, body):
    response = api.post(f"/api/v1/deals/{deal.pk}/decision", body, format="json")
    assert response.status_code == 400
    deal.refresh_from_db()
    assert deal.status == DealStatus.UNDER_REVIEW


def test_another_organisations_deal_is_not_found(api, other_org):
    theirs = Deal.objects.create(organization=other_org, business_name="T", status=DealStatus.UNDER_REVIEW)
    assert (
        api.post(f"/api/v1/deals/{theirs.pk}/decision", {"decision": "approved"}, format="json").status_code
        == 404
    )
    theirs.refresh_from_db()
    assert theirs.status == DealStatus.UNDER_REVIEW


def test_it_needs_the_write_scope(org, deal, make_key):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {make_key(org, scopes=['read'])}")
    assert (
        client.post(f"/api/v1/deals/{deal.pk}/decision", {"decision": "approved"}, format="json").status_code
        == 403
    )
