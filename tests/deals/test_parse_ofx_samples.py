"""OFX/QFX: the repository's own samples (tests/fixtures/statements) with the outcome their README states."""

from __future__ import annotations

import datetime
from decimal import Decimal
from pathlib import Path

import pytest

from deals.parsing import ParsedStatement, StatementError, extract_document, parse_document
from tests.deals.statement_files import FIXTURES, fixture


def parse(data: bytes) -> ParsedStatement:
    doc = extract_document(data)
    assert doc.format == "ofx"
    return parse_document(doc)


def test_it_finds_the_samples_inside_the_repository():
    repository = Path(__file__).resolve().parents[2]
    assert FIXTURES.is_relative_to(repository)  # not ../shared, which a fresh clone does not have
    assert (FIXTURES / "README.md").is_file()


def test_it_reads_the_one_line_sgml_checking_statement_with_its_ledger_balance():
    statement = parse(fixture("ofx/bank_medium.ofx"))
    assert [t.amount for t in statement.transactions] == [
        Decimal("-14.25"),
        Decimal("-250.00"),
        Decimal("-38.90"),
    ]
    assert statement.closing_balance == Decimal("1204.55")
    assert statement.currency == "CAD"
    assert statement.accounts == ("04512 1009876543",)
    # 20:00 EST is already the next day in UTC: the bank's own calendar day is kept.
    assert statement.transactions[0].date == datetime.date(2023, 3, 6)
    assert statement.transactions[0].description == "TIM HORTONS #0412"
    # The ledger balance is dated after the last transaction: opening = 1204.55 + 14.25 + 250 + 38.90.
    assert statement.opening_balance == Decimal("1507.70")
    assert (statement.period_start, statement.period_end) == (
        datetime.date(2023, 3, 1),
        datetime.date(2023, 3, 31),
    )


def test_it_reads_the_card_qfx_with_a_leading_blank_line_and_a_non_ascii_name():
    statement = parse(fixture("ofx/card_cc.qfx"))
    assert len(statement.transactions) == 1
    charge = statement.transactions[0]
    assert charge.amount == Decimal("-27.45")
    assert charge.description == "TST* CAFÉ ¦ LA MAÑANA"
    assert statement.currency == "USD"


def test_it_reads_every_account_of_a_two_account_file():
    statement = parse(fixture("ofx/multiple_accounts.ofx"))
    assert len(statement.transactions) == 6
    assert statement.accounts == ("40118822907", "55120044310")
    by_account = {
        account: sorted(t.amount for t in statement.transactions if t.account == account)
        for account in statement.accounts
    }
    assert by_account == {
        "40118822907": [Decimal("-300.00"), Decimal("-62.35"), Decimal("415.50"), Decimal("1840.00")],
        "55120044310": [Decimal("-18.90"), Decimal("300.00")],
    }
    assert statement.currency == "EUR"
    assert [t.date for t in statement.transactions] == sorted(t.date for t in statement.transactions)


def test_it_refuses_an_empty_body_as_having_no_transactions():
    with pytest.raises(StatementError) as error:
        parse(fixture("ofx/bank_small_empty.ofx"))
    assert error.value.reason == "No transactions found in the file"


def test_it_names_the_bad_value_of_a_malformed_transaction():
    with pytest.raises(StatementError) as error:
        parse(fixture("ofx/decimal_error.ofx"))
    assert error.value.reason.startswith("Malformed OFX: transaction 1:")
    assert "202213450000" in error.value.reason
