"""GET /api/v1/deals/{id}/transactions, and the flag evidence on GET /api/v1/deals/{id}."""

from __future__ import annotations

from decimal import Decimal

import pytest

from deals.models import Statement, Transaction
from tests.deals.ledger_files import (
    LENDER_FUNDING,
    NSF_DATES,
    card_revenue,
    create_deal,
    read_only_client,
    risky_csv,
    risky_rows,
    upload_processed,
)
from tests.jobs.factories import healthy_csv

pytestmark = pytest.mark.django_db

FIELDS = {
    "id",
    "statement_id",
    "date",
    "description",
    "counterparty",
    "amount",
    "balance",
    "category",
    "flags",
    "counted_as_revenue",
}


@pytest.fixture
def deal_id(api, django_capture_on_commit_callbacks) -> int:
    deal = create_deal(api)
    upload_processed(api, deal, risky_csv(), django_capture_on_commit_callbacks)
    return deal


def all_pages(api, url: str) -> list[dict]:
    found: list[dict] = []
    next_url: str | None = url
    while next_url:
        response = api.get(next_url)
        assert response.status_code == 200, response.content
        body = response.json()
        assert set(body) == {"results", "next"}
        found.extend(body["results"])
        next_url = body["next"]
    return found


def test_it_lists_every_stored_transaction_in_date_order(api, deal_id):
    rows = all_pages(api, f"/api/v1/deals/{deal_id}/transactions?limit=50")
    expected = risky_rows()
    assert len(rows) == len(expected)
    assert set(rows[0]) >= FIELDS
    assert [(r["date"], r["description"], Decimal(r["amount"])) for r in rows] == [
        (d.isoformat(), text, amount) for d, text, amount in expected
    ]
    statement = Statement.objects.get(deal_id=deal_id)
    assert {r["statement_id"] for r in rows} == {statement.pk}
    assert rows[0]["balance"] is not None
    assert rows[0]["counterparty"] is None  # the file names none
    revenue = sum((Decimal(r["amount"]) for r in rows if r["counted_as_revenue"]), Decimal(0))
    assert revenue == card_revenue()


def test_it_filters_by_category_flag_statement_and_dates(api, deal_id, django_capture_on_commit_callbacks):
    base = f"/api/v1/deals/{deal_id}/transactions"
    funding = api.get(f"{base}?category=lender_funding").json()["results"]
    assert [(r["amount"], r["counted_as_revenue"]) for r in funding] == [(f"{LENDER_FUNDING:.2f}", False)]

    nsf = api.get(f"{base}?flag=nsf").json()["results"]
    assert [r["date"] for r in nsf] == [d.isoformat() for d in NSF_DATES]
    assert all(r["flags"] == ["nsf"] and r["category"] == "nsf_fee" for r in nsf)

    january = all_pages(api, f"{base}?date_from=2024-01-10&date_to=2024-01-20")
    assert january
    assert all("2024-01-10" <= r["date"] <= "2024-01-20" for r in january)

    second = upload_processed(api, deal_id, healthy_csv(days=10), django_capture_on_commit_callbacks, "b.csv")
    only_second = all_pages(api, f"{base}?statement_id={second}")
    assert len(only_second) == Transaction.objects.filter(statement_id=second).count() > 0
    assert {r["statement_id"] for r in only_second} == {second}


@pytest.mark.parametrize(
    "query",
    [
        "category=salary",
        "flag=nope",
        "date_from=yesterday",
        "date_to=2024-13-01",
        "statement_id=abc",
        "statement_id=0",
        "date_from=2024-02-01&date_to=2024-01-01",
        "limit=abc",
    ],
)
def test_a_bad_filter_is_a_400(api, deal_id, query):
    response = api.get(f"/api/v1/deals/{deal_id}/transactions?{query}")
    if query == "limit=abc":
        # DRF's pagination ignores an unreadable limit and uses the default page.
        assert response.status_code == 200
        return
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"]
    assert error["fields"]


def test_a_read_only_key_can_list(org, make_key, deal_id):
    client = read_only_client(make_key(org, scopes=["read"]))
    assert client.get(f"/api/v1/deals/{deal_id}/transactions").status_code == 200


def test_another_organisations_deal_is_not_found(other_org, make_key, deal_id):
    client = read_only_client(make_key(other_org))
    response = client.get(f"/api/v1/deals/{deal_id}/transactions")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert read_only_client(make_key(other_org)).get("/api/v1/deals/999999/transactions").status_code == 404


def test_the_deal_carries_evidence_for_every_flag(api, deal_id):
    deal = api.get(f"/api/v1/deals/{deal_id}").json()
    assert deal["flags"], deal
    assert [d["code"] for d in deal["flag_details"]] == deal["flags"]
    by_code = {d["code"]: d for d in deal["flag_details"]}

    nsf = by_code["nsf"]["evidence"]
    stored = {r.pk: r for r in Transaction.objects.filter(deal_id=deal_id, flags__contains=["nsf"])}
    assert sorted(item["id"] for item in nsf["transactions"]) == sorted(stored)
    for item in nsf["transactions"]:
        row = stored[item["id"]]
        assert (item["date"], item["amount"], item["statement_id"]) == (
            row.date.isoformat(),
            f"{row.amount:.2f}",
            row.statement_id,
        )

    (lender,) = by_code["loan_stacking"]["evidence"]["lenders"]
    assert lender["lender"] == "XYZ FUNDING"
    assert lender["cadence"] == "weekly"
    repayments = Transaction.objects.filter(deal_id=deal_id, category="lender_repayment").order_by("date")
    assert lender["count"] == repayments.count()
    assert lender["first_date"] == repayments[0].date.isoformat()
    assert [item["id"] for item in lender["transactions"]] == [r.pk for r in repayments]

    # The statement's own screening names the same rows.
    statement = deal["statements"][0]
    findings = {f["code"]: f for f in statement["screening"]["findings"]}
    assert findings["nsf"]["evidence"]["transactions"] == nsf["transactions"]


def test_the_schema_describes_the_new_endpoints(api):
    schema = api.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    paths = schema["paths"]
    listing = paths["/api/v1/deals/{deal_id}/transactions"]["get"]
    assert {p["name"] for p in listing["parameters"]} >= {
        "statement_id",
        "category",
        "flag",
        "date_from",
        "date_to",
    }
    assert "post" in paths["/api/v1/deals/{deal_id}/transactions/{transaction_id}/revenue"]
    assert "200" in paths["/api/v1/deals/{deal_id}/statements/{statement_id}"]["delete"]["responses"]
