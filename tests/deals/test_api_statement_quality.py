"""Statement quality over the API: reconciliation, warnings on statement, deal and events, safe proposals."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest

from deals.models import Deal, Statement
from tests.deals.statement_files import csv_bytes
from tests.deals.test_pipeline import create_deal, upload_statement
from tests.jobs.factories import events, healthy_csv

pytestmark = pytest.mark.django_db


def steady_rows(days: int, *, start: datetime.date = datetime.date(2024, 1, 1)) -> list[list[object]]:
    """Weekday card settlements with a running balance: healthy enough to be approved on score."""
    rows: list[list[object]] = []
    balance = Decimal("20000.00")
    for offset in range(days):
        day = start + datetime.timedelta(days=offset)
        if day.weekday() < 5:
            balance += Decimal("1500.00")
            rows.append([day.strftime("%m/%d/%Y"), "CARD SETTLEMENT STRIPE", "1500.00", f"{balance:.2f}"])
    return rows


def unreconciled_csv() -> bytes:
    rows = steady_rows(60)
    rows[9][3] = f"{Decimal(str(rows[9][3])) + Decimal('250.00'):.2f}"  # row 11 of the file
    return csv_bytes([["Date", "Description", "Amount", "Balance"], *rows])


def process(api, deal_id: int, name: str, content: bytes, capture) -> dict:
    with capture(execute=True):
        return upload_statement(api, deal_id, name, content)


def test_a_statement_that_does_not_reconcile_is_flagged_and_never_proposed_for_approval(
    api, org, django_capture_on_commit_callbacks
):
    deal_id = create_deal(api)
    accepted = process(api, deal_id, "march.csv", unreconciled_csv(), django_capture_on_commit_callbacks)

    statement = Statement.objects.get(pk=accepted["statement_id"])
    reconciliation = statement.reconciliation or {}
    # The 10th transaction, on line 11 of the file: a parser that numbers rows gives the line,
    # otherwise the position in the statement is named.
    bad_row = reconciliation["first_bad_row"]
    assert bad_row in (10, 11)
    assert reconciliation == {
        "status": "failed",
        "difference": "-250.00",
        "first_bad_row": bad_row,
        "detail": reconciliation["detail"],
    }
    assert reconciliation["detail"].startswith(f"Row {bad_row} (2024-01-12)")
    assert [w["code"] for w in statement.warnings] == ["reconciliation_failed"]

    completed = events(type="processing.completed")[-1].data
    assert completed["reconciliation"]["status"] == "failed"
    assert [w["code"] for w in completed["warnings"]] == ["reconciliation_failed"]

    body = api.get(f"/api/v1/deals/{deal_id}").json()
    assert [w["code"] for w in body["warnings"]] == ["reconciliation_failed"]
    assert body["warnings"][0]["evidence"]["statement_id"] == statement.pk
    assert body["warnings"][0]["evidence"]["first_bad_row"] == bad_row
    shown = body["statements"][0]
    assert shown["reconciliation"]["status"] == "failed"
    assert (shown["account_type"], shown["period_start"], shown["period_end"]) == (
        "checking",
        "2024-01-01",
        "2024-02-29",
    )
    assert shown["counted"] is True
    assert shown["duplicate_of"] is None

    assert body["recommendation"] == "declined"
    assert body["proposal"]["proposed"] == {"decision": "declined"}
    assert "do not add up" in body["proposal"]["explanation"]
    proposed = events(type="proposed_change")[-1].data
    assert proposed["proposed"] == {"decision": "declined"}
    assert [w["code"] for w in proposed["warnings"]] == ["reconciliation_failed"]

    listed = api.get("/api/v1/deals").json()["results"][0]
    assert [w["code"] for w in listed["warnings"]] == ["reconciliation_failed"]


def test_the_same_file_uploaded_twice_is_counted_once(api, org, django_capture_on_commit_callbacks):
    deal_id = create_deal(api)
    first = process(api, deal_id, "january.csv", healthy_csv(), django_capture_on_commit_callbacks)
    once = Deal.objects.get(pk=deal_id)
    second = process(api, deal_id, "january (1).csv", healthy_csv(), django_capture_on_commit_callbacks)

    again = Deal.objects.get(pk=deal_id)
    assert again.health_score == once.health_score
    assert again.score_details == once.score_details
    repeat = Statement.objects.get(pk=second["statement_id"])
    assert (repeat.counted, repeat.duplicate_of_id) == (False, first["statement_id"])
    assert [w["code"] for w in repeat.warnings] == ["duplicate_transactions", "overlapping_statements"]
    body = api.get(f"/api/v1/deals/{deal_id}").json()
    assert {w["code"] for w in body["warnings"]} == {"duplicate_transactions", "overlapping_statements"}
    assert body["statements"][1]["duplicate_of"] == first["statement_id"]
    assert body["proposal"]["proposed"] == {"decision": "approved"}


def test_overlapping_statements_count_shared_transactions_once(api, org, django_capture_on_commit_callbacks):
    deal_id = create_deal(api)
    header = ["Date", "Description", "Amount", "Balance"]
    rows = steady_rows(60)
    half = len(rows) // 2
    process(
        api, deal_id, "first.csv", csv_bytes([header, *rows[: half + 5]]), django_capture_on_commit_callbacks
    )
    process(
        api, deal_id, "second.csv", csv_bytes([header, *rows[half - 5 :]]), django_capture_on_commit_callbacks
    )
    deal = Deal.objects.get(pk=deal_id)

    whole = create_deal(api, "Whole")
    process(api, whole, "whole.csv", csv_bytes([header, *rows]), django_capture_on_commit_callbacks)
    reference = Deal.objects.get(pk=whole)

    counted = sum((s.metrics or {})["deposit_count"] for s in deal.statements.all())
    assert counted == len(rows)
    figures = (deal.score_details or {})["figures"]
    assert (
        figures["deposits_per_30_days"] == (reference.score_details or {})["figures"]["deposits_per_30_days"]
    )
    codes = [w["code"] for w in deal.warnings]
    assert codes == ["duplicate_transactions", "overlapping_statements"]
    assert deal.warnings[0]["evidence"]["count"] == 10


def test_a_short_history_is_provisional_and_not_approved(api, org, django_capture_on_commit_callbacks):
    deal_id = create_deal(api)
    # Two weeks of weekday settlements: Monday 1 to Friday 12 January.
    process(api, deal_id, "two-weeks.csv", healthy_csv(days=14), django_capture_on_commit_callbacks)
    body = api.get(f"/api/v1/deals/{deal_id}").json()
    assert [w["code"] for w in body["warnings"]] == ["short_history"]
    assert body["warnings"][0]["evidence"] == {"days": 12, "minimum_days": 30}
    assert body["proposal"]["proposed"] == {"decision": "declined"}
    assert "provisional" in body["proposal"]["explanation"]

    # More history lifts the hold.
    process(
        api,
        deal_id,
        "next.csv",
        healthy_csv(days=30, start=datetime.date(2024, 1, 15)),
        django_capture_on_commit_callbacks,
    )
    body = api.get(f"/api/v1/deals/{deal_id}").json()
    assert "short_history" not in [w["code"] for w in body["warnings"]]


def test_a_statement_in_another_currency_is_kept_out_of_the_score(
    api, org, django_capture_on_commit_callbacks
):
    deal_id = create_deal(api)
    process(api, deal_id, "usd.csv", b"Currency,USD\n\n" + healthy_csv(), django_capture_on_commit_callbacks)
    alone = Deal.objects.get(pk=deal_id).health_score
    euro = csv_bytes([["Date", "Description", "Amount"], ["03/05/2024", "VIREMENT", "-90000.00"]])
    accepted = process(
        api, deal_id, "eur.csv", b"Currency,EUR\n\n" + euro, django_capture_on_commit_callbacks
    )

    deal = Deal.objects.get(pk=deal_id)
    assert deal.health_score == alone
    assert Statement.objects.get(pk=accepted["statement_id"]).counted is False
    mismatch = [w for w in deal.warnings if w["code"] == "currency_mismatch"]
    assert mismatch == [
        {
            "code": "currency_mismatch",
            "message": f"Statement {accepted['statement_id']} is in EUR, the deal is scored in USD: it is kept "
            "out of the score.",
            "evidence": {"statement_id": accepted["statement_id"], "currency": "EUR", "deal_currency": "USD"},
        }
    ]


def test_the_openapi_schema_describes_the_quality_fields(api):
    schema = api.get("/api/schema/", {"format": "json"})
    assert schema.status_code == 200, schema.content
    components = schema.json()["components"]["schemas"]
    reconciliation = next(v for k, v in components.items() if k.startswith("Reconciliation"))
    assert set(reconciliation["properties"]) == {"status", "difference", "first_bad_row", "detail"}
    warning = next(v for k, v in components.items() if k.startswith("Warning"))
    assert set(warning["properties"]) == {"code", "message", "evidence"}
    statement = components["StatementOut"]["properties"]
    for field in ("account_type", "currency", "period_start", "period_end", "rows_skipped", "warnings"):
        assert field in statement
    assert "warnings" in components["DealOut"]["properties"]


def test_an_overlap_without_balances_moves_the_opening_balance_past_the_dropped_rows(
    api, org, django_capture_on_commit_callbacks
):
    header = ["Date", "Description", "Amount"]
    days = [datetime.date(2024, 1, 1) + datetime.timedelta(days=d) for d in range(40)]
    rows = [[day.strftime("%m/%d/%Y"), f"SALE {day.day}", f"{100 + day.day}.00"] for day in days]
    opening = Decimal("5000.00")
    # The second export starts on day 21 and states the balance before it.
    second_opening = opening + sum(Decimal(str(r[2])) for r in rows[:20])
    first = csv_bytes([header, *rows[:30]])
    second = f"Opening Balance,{second_opening:.2f}\n\n".encode() + csv_bytes([header, *rows[20:]])
    deal_id = create_deal(api)
    process(
        api, deal_id, "first.csv", b"Opening Balance,5000.00\n\n" + first, django_capture_on_commit_callbacks
    )
    accepted = process(api, deal_id, "second.csv", second, django_capture_on_commit_callbacks)

    metrics = Statement.objects.get(pk=accepted["statement_id"]).metrics or {}
    # Days 21-30 are already counted: the second statement counts days 31-40 only, starting
    # from the balance after day 30.
    assert metrics["period_start"] == "2024-01-31"
    assert metrics["deposit_count"] == 10
    after_day_30 = opening + sum(Decimal(str(r[2])) for r in rows[:30])
    assert Decimal(metrics["starting_balance"]) == after_day_30


def card_csv() -> bytes:
    """A card export (purchases negative, a payment positive): not a bank account's balances."""
    return csv_bytes(
        [
            ["Transaction Date", "Post Date", "Description", "Category", "Type", "Amount"],
            ["03/02/2024", "03/03/2024", "OFFICE DEPOT", "Shopping", "Sale", "-420.10"],
            ["03/09/2024", "03/10/2024", "SHELL OIL", "Gas", "Sale", "-88.45"],
            ["03/15/2024", "03/15/2024", "PAYMENT THANK YOU", "", "Payment", "500.00"],
            ["03/21/2024", "03/22/2024", "ADOBE *ACROPRO", "Shopping", "Sale", "-59.99"],
        ]
    )


def test_it_keeps_a_card_statement_out_of_the_balances_and_the_score(
    api, org, django_capture_on_commit_callbacks
):
    deal_id = create_deal(api)
    process(api, deal_id, "bank.csv", healthy_csv(), django_capture_on_commit_callbacks)
    alone = Deal.objects.get(pk=deal_id).health_score
    accepted = process(api, deal_id, "card.csv", card_csv(), django_capture_on_commit_callbacks)

    card = Statement.objects.get(pk=accepted["statement_id"])
    assert card.account_type == "credit_card"
    assert card.counted is False
    deal = Deal.objects.get(pk=deal_id)
    assert deal.health_score == alone
    assert [w for w in deal.warnings if w["code"] == "not_a_bank_account"] == [
        {
            "code": "not_a_bank_account",
            "message": f"Statement {card.pk} is a credit-card statement: its transactions are listed, but it "
            "is kept out of the balances, revenue and score.",
            "evidence": {"statement_id": card.pk, "account_type": "credit_card"},
        }
    ]


def test_a_deal_with_only_a_card_statement_gets_no_score_and_no_proposal(
    api, org, django_capture_on_commit_callbacks
):
    deal_id = create_deal(api)
    process(api, deal_id, "card.csv", card_csv(), django_capture_on_commit_callbacks)

    deal = Deal.objects.get(pk=deal_id)
    assert deal.status == "under_review"
    assert deal.health_score is None
    assert deal.recommendation == ""
    assert deal.open_proposal is None
    assert [w["code"] for w in deal.warnings] == ["not_a_bank_account"]
    assert "waits for a business bank account statement" in deal.explanations[0]
    assert "proposed_change" not in [e.type for e in events(deal_id=deal_id)]
