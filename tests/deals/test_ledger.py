"""Storing a statement's transactions (deals.ledger), below the API."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.db import transaction

from deals import ledger
from deals.models import Deal, Statement, Transaction
from deals.parsing import ParsedStatement, StatementError
from deals.parsing import Transaction as Parsed
from deals.underwriting import screen_transactions

pytestmark = pytest.mark.django_db
DAY = datetime.date(2024, 5, 2)


@pytest.fixture
def statement(org) -> Statement:
    deal = Deal.objects.create(organization=org, business_name="Bolt")
    return Statement.objects.create(deal=deal, file="x.csv", filename="x.csv")


def parsed(*rows: Parsed) -> ParsedStatement:
    return ParsedStatement(format="csv", transactions=rows)


def test_it_stores_each_row_once_in_file_order(statement):
    statement_rows = parsed(
        Parsed(DAY, "CARD SETTLEMENT STRIPE", Decimal("100.5"), Decimal("1100.50"), row=2),
        Parsed(DAY, "NSF FEE", Decimal("-35.00"), None, counterparty="Bank", row=3),
    )
    screening = screen_transactions(statement_rows.transactions)
    for _ in range(2):  # a retried completion
        with transaction.atomic():
            with_evidence = ledger.store_transactions(statement, statement_rows, screening)
    rows = list(Transaction.objects.filter(statement=statement).order_by("position"))
    assert [
        (r.description, r.amount, r.balance, r.category, r.flags, r.counted_as_revenue, r.row) for r in rows
    ] == [
        (
            "CARD SETTLEMENT STRIPE",
            Decimal("100.50"),
            Decimal("1100.50"),
            "card_settlement",
            ["deposit_concentration"],
            True,
            2,
        ),
        ("NSF FEE", Decimal("-35.00"), None, "nsf_fee", ["nsf"], False, 3),
    ]
    assert rows[1].counterparty == "Bank"
    assert rows[0].deal_id == statement.deal_id
    (nsf,) = [f for f in with_evidence.findings if f.code == "nsf"]
    assert [item["id"] for item in nsf.evidence["transactions"]] == [rows[1].pk]


def test_it_refuses_an_amount_no_bank_prints(statement):
    huge = parsed(Parsed(DAY, "MISREAD", Decimal("1E+18"), row=7))
    with pytest.raises(StatementError, match=r"too large.*row 7"):
        ledger.store_transactions(statement, huge, screen_transactions(huge.transactions))
    assert not Transaction.objects.exists()


def test_it_drops_nul_characters_postgresql_cannot_store(statement):
    with_nul = parsed(Parsed(DAY, "CARD\x00 SETTLEMENT", Decimal("10.00"), counterparty="A\x00B", row=1))
    ledger.store_transactions(statement, with_nul, screen_transactions(with_nul.transactions))
    row = Transaction.objects.get(statement=statement)
    assert (row.description, row.counterparty) == ("CARD SETTLEMENT", "AB")
