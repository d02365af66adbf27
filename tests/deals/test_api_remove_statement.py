"""DELETE /api/v1/deals/{id}/statements/{statement_id}: a statement taken out of the score."""

from __future__ import annotations

import pytest
from django.core.files.storage import default_storage

from deals.models import (
    Deal,
    DealStatus,
    ProposalStatus,
    ProposedChange,
    Statement,
    StatementStatus,
    Transaction,
)
from events.models import Event
from tests.deals.ledger_files import create_deal, read_only_client, risky_csv, upload_processed
from tests.jobs.factories import healthy_csv

pytestmark = pytest.mark.django_db


def score(deal: Deal) -> float:
    assert deal.health_score is not None
    return float(deal.health_score)


@pytest.fixture
def deal(api, django_capture_on_commit_callbacks) -> tuple[int, int, int]:
    """A deal under review with a risky statement and a healthy one: (deal, risky, healthy)."""
    deal_id = create_deal(api)
    risky = upload_processed(api, deal_id, risky_csv(), django_capture_on_commit_callbacks, "risky.csv")
    healthy = upload_processed(api, deal_id, healthy_csv(), django_capture_on_commit_callbacks, "ok.csv")
    return deal_id, risky, healthy


def test_removing_a_statement_takes_it_out_of_the_score(api, deal, django_capture_on_commit_callbacks):
    deal_id, risky, healthy = deal
    before = Deal.objects.get(pk=deal_id)
    assert "nsf" in before.flags
    old_proposal = ProposedChange.objects.get(deal_id=deal_id, status=ProposalStatus.OPEN)
    stored_file = Statement.objects.get(pk=risky).file.name
    assert default_storage.exists(stored_file)

    with django_capture_on_commit_callbacks(execute=True):
        response = api.delete(f"/api/v1/deals/{deal_id}/statements/{risky}")

    assert response.status_code == 200, response.content
    body = response.json()
    assert [s["id"] for s in body["statements"]] == [healthy]
    assert "nsf" not in body["flags"]
    assert not Statement.objects.filter(pk=risky).exists()
    assert not Transaction.objects.filter(statement_id=risky).exists()
    assert Transaction.objects.filter(statement_id=healthy).exists()
    assert not default_storage.exists(stored_file)

    deal_after = Deal.objects.get(pk=deal_id)
    assert deal_after.status == DealStatus.UNDER_REVIEW
    assert deal_after.health_score != before.health_score

    removed = Event.objects.get(type="statement.removed")
    assert {k: removed.data[k] for k in ("deal_id", "statement_id", "removed_by")} == {
        "deal_id": deal_id,
        "statement_id": risky,
        "removed_by": "api_key:test",
    }
    assert removed.deal_id == deal_id
    assert removed.in_org_feed
    rescored = Event.objects.get(type="deal.rescored")
    assert rescored.pk > removed.pk
    assert rescored.data["previous_score"] == score(before)
    assert rescored.data["health_score"] == score(deal_after)
    assert rescored.data["changed_by"] == "api_key:test"

    old_proposal.refresh_from_db()
    assert old_proposal.status == ProposalStatus.SUPERSEDED
    assert ProposedChange.objects.filter(deal_id=deal_id, status=ProposalStatus.OPEN).count() == 1

    log = api.get(f"/api/v1/events/log?deal_id={deal_id}&type=statement.removed").json()["results"]
    assert [e["data"]["statement_id"] for e in log] == [risky]


def test_a_decided_deal_is_a_conflict(api, deal):
    deal_id, risky, _ = deal
    assert (
        api.post(f"/api/v1/deals/{deal_id}/decision", {"decision": "declined"}, format="json").status_code
        == 200
    )
    response = api.delete(f"/api/v1/deals/{deal_id}/statements/{risky}")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "deal_decided"
    assert Statement.objects.filter(pk=risky).exists()
    assert not Event.objects.filter(type="statement.removed").exists()


def test_a_statement_in_flight_is_a_conflict(api, deal):
    deal_id, risky, _ = deal
    Statement.objects.filter(pk=risky).update(status=StatementStatus.PROCESSING)
    response = api.delete(f"/api/v1/deals/{deal_id}/statements/{risky}")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "statement_in_flight"
    assert Statement.objects.filter(pk=risky).exists()


def test_a_read_only_key_is_refused(org, make_key, deal):
    deal_id, risky, _ = deal
    response = read_only_client(make_key(org, scopes=["read"])).delete(
        f"/api/v1/deals/{deal_id}/statements/{risky}"
    )
    assert response.status_code == 403
    assert Statement.objects.filter(pk=risky).exists()


def test_another_organisations_statement_is_not_found(other_org, make_key, deal):
    deal_id, risky, _ = deal
    client = read_only_client(make_key(other_org))
    assert client.delete(f"/api/v1/deals/{deal_id}/statements/{risky}").status_code == 404
    theirs = Deal.objects.create(organization=other_org, business_name="T", status=DealStatus.UNDER_REVIEW)
    assert client.delete(f"/api/v1/deals/{theirs.pk}/statements/{risky}").status_code == 404
    assert Statement.objects.filter(pk=risky).exists()


def test_an_unknown_statement_or_one_of_another_deal_is_not_found(api, org, deal):
    deal_id, risky, _ = deal
    assert api.delete(f"/api/v1/deals/{deal_id}/statements/99999999").status_code == 404
    other = Deal.objects.create(organization=org, business_name="Other", status=DealStatus.UNDER_REVIEW)
    response = api.delete(f"/api/v1/deals/{other.pk}/statements/{risky}")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert Statement.objects.filter(pk=risky).exists()
