"""POST /api/v1/deals/{id}/transactions/{tx_id}/revenue: an underwriter's revenue treatment."""

from __future__ import annotations

from decimal import Decimal

import pytest

from deals.models import Deal, DealStatus, ProposalStatus, ProposedChange, Statement, Transaction
from events.models import Event
from tests.deals.ledger_files import (
    LENDER_FUNDING,
    card_revenue,
    create_deal,
    read_only_client,
    risky_csv,
    upload_processed,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def deal_id(api, django_capture_on_commit_callbacks) -> int:
    deal = create_deal(api)
    upload_processed(api, deal, risky_csv(), django_capture_on_commit_callbacks)
    return deal


@pytest.fixture
def funding(deal_id) -> Transaction:
    return Transaction.objects.get(deal_id=deal_id, category="lender_funding")


def revenue_of(statement: Statement) -> Decimal:
    assert statement.metrics is not None
    return Decimal(statement.metrics["total_deposits"])


def score(deal: Deal) -> float:
    assert deal.health_score is not None
    return float(deal.health_score)


def url(deal_id: int, transaction_id: int) -> str:
    return f"/api/v1/deals/{deal_id}/transactions/{transaction_id}/revenue"


def test_counting_a_deposit_as_revenue_rescores_the_deal(api, deal_id, funding):
    before = Deal.objects.get(pk=deal_id)
    old_proposal = ProposedChange.objects.get(deal_id=deal_id, status=ProposalStatus.OPEN)
    assert before.status == DealStatus.UNDER_REVIEW
    last_event = Event.objects.latest("id").pk

    response = api.post(url(deal_id, funding.pk), {"counted": True, "note": "Owner's capital"}, format="json")

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["transaction"]["id"] == funding.pk
    assert body["transaction"]["counted_as_revenue"] is True
    assert body["transaction"]["revenue_override"] is True
    assert body["transaction"]["revenue_note"] == "Owner's capital"
    assert body["transaction"]["category"] == "lender_funding"  # what it is does not change

    statement = Statement.objects.get(deal_id=deal_id)
    assert revenue_of(statement) == card_revenue() + LENDER_FUNDING
    deal = Deal.objects.get(pk=deal_id)
    assert deal.health_score != before.health_score
    assert body["deal"]["health_score"] == score(deal)

    rescored = Event.objects.get(type="deal.rescored", pk__gt=last_event)
    assert rescored.data["deal_id"] == deal_id
    assert rescored.data["health_score"] == score(deal)
    assert rescored.data["previous_score"] == score(before)
    assert rescored.data["changed_by"] == "api_key:test"
    assert str(funding.pk) in rescored.data["reason"]
    assert rescored.deal_id == deal_id
    assert rescored.in_org_feed

    old_proposal.refresh_from_db()
    assert old_proposal.status == ProposalStatus.SUPERSEDED
    fresh = ProposedChange.objects.get(deal_id=deal_id, status=ProposalStatus.OPEN)
    assert fresh.health_score == deal.health_score
    assert Event.objects.filter(type="proposed_change", pk__gt=rescored.pk, data__change_id=fresh.pk).exists()

    # Visible to polling clients too.
    log = api.get(f"/api/v1/events/log?deal_id={deal_id}&type=deal.rescored").json()["results"]
    assert [e["data"]["previous_score"] for e in log] == [score(before)]


def test_not_counting_revenue_lowers_deposits_and_can_be_undone(api, deal_id):
    card = Transaction.objects.filter(deal_id=deal_id, category="card_settlement").order_by("pk")[0]
    assert api.post(url(deal_id, card.pk), {"counted": False}, format="json").status_code == 200
    statement = Statement.objects.get(deal_id=deal_id)
    assert revenue_of(statement) == card_revenue() - card.amount
    assert api.post(url(deal_id, card.pk), {"counted": True}, format="json").status_code == 200
    statement.refresh_from_db()
    assert revenue_of(statement) == card_revenue()
    card.refresh_from_db()
    assert (card.counted_as_revenue, card.revenue_override, card.revenue_changed_by) == (
        True,
        True,
        "api_key:test",
    )
    assert Event.objects.filter(type="deal.rescored").count() == 2


@pytest.mark.parametrize(
    "body",
    [{}, {"counted": "yes"}, {"counted": 1}, {"counted": None}, {"counted": True, "note": "x" * 2001}],
)
def test_a_bad_body_is_a_400_and_changes_nothing(api, deal_id, funding, body):
    response = api.post(url(deal_id, funding.pk), body, format="json")
    assert response.status_code == 400, response.content
    assert "counted" in response.json()["error"]["fields"] or "note" in response.json()["error"]["fields"]
    funding.refresh_from_db()
    assert funding.revenue_override is None
    assert not Event.objects.filter(type="deal.rescored").exists()


def test_a_read_only_key_is_refused(org, make_key, deal_id, funding):
    client = read_only_client(make_key(org, scopes=["read"]))
    response = client.post(url(deal_id, funding.pk), {"counted": True}, format="json")
    assert response.status_code == 403
    funding.refresh_from_db()
    assert funding.revenue_override is None


def test_another_organisations_transaction_is_not_found(other_org, make_key, deal_id, funding):
    client = read_only_client(make_key(other_org))
    assert client.post(url(deal_id, funding.pk), {"counted": True}, format="json").status_code == 404
    theirs = Deal.objects.create(organization=other_org, business_name="T", status=DealStatus.UNDER_REVIEW)
    # Their deal id with our transaction: still not found.
    assert client.post(url(theirs.pk, funding.pk), {"counted": True}, format="json").status_code == 404
    funding.refresh_from_db()
    assert funding.revenue_override is None


def test_a_transaction_of_another_deal_is_not_found(api, org, funding):
    other = Deal.objects.create(organization=org, business_name="Other", status=DealStatus.UNDER_REVIEW)
    response = api.post(url(other.pk, funding.pk), {"counted": True}, format="json")
    assert response.status_code == 404
    assert api.post(url(funding.deal_id, 99999999), {"counted": True}, format="json").status_code == 404


def test_a_decided_deal_is_a_conflict(api, deal_id, funding):
    assert (
        api.post(f"/api/v1/deals/{deal_id}/decision", {"decision": "declined"}, format="json").status_code
        == 200
    )
    response = api.post(url(deal_id, funding.pk), {"counted": True}, format="json")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "deal_decided"
    funding.refresh_from_db()
    assert funding.revenue_override is None


def test_a_debit_cannot_count_as_revenue(api, deal_id):
    payroll = Transaction.objects.filter(deal_id=deal_id, category="payroll").order_by("pk")[0]
    response = api.post(url(deal_id, payroll.pk), {"counted": True}, format="json")
    assert response.status_code == 400
    assert "counted" in response.json()["error"]["fields"]
    payroll.refresh_from_db()
    assert payroll.revenue_override is None
    # Saying it is not revenue is harmless.
    assert api.post(url(deal_id, payroll.pk), {"counted": False}, format="json").status_code == 200
