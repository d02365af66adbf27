"""OFX/QFX: each shared real-world sample with the outcome its README states, plus OFX 2.x XML.

The shared samples live beside the repository; `shared_fixture` skips them in a bare clone and
fails in CI. The repository's own samples are covered in test_parse_ofx_samples.py.
"""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest

from deals.parsing import ParsedStatement, StatementError, extract_document, parse_document
from tests.deals.statement_files import SHARED_FIXTURES, fixture, ofx_v2, shared_fixture


def parse(data: bytes) -> ParsedStatement:
    doc = extract_document(data)
    assert doc.format == "ofx"
    return parse_document(doc)


def test_the_shared_fixture_folder_is_found_beside_the_repo():
    assert shared_fixture("README.md")
    assert (SHARED_FIXTURES / "README.md").is_file()


def test_bank_medium_has_three_debits_and_its_ledger_balance():
    statement = parse(shared_fixture("ofx/bank_medium.ofx"))
    assert [t.amount for t in statement.transactions] == [
        Decimal("-6.60"),
        Decimal("-316.67"),
        Decimal("-22.00"),
    ]
    assert statement.closing_balance == Decimal("382.34")
    assert statement.currency == "CAD"
    assert statement.accounts == ("12300 000012345678",)
    # The bank's own calendar day, not the UTC conversion of 12:20 EST.
    assert statement.transactions[0].date == datetime.date(2009, 4, 1)
    assert statement.transactions[0].description == "MCDONALD'S #112"
    # Ledger balance dated after the last transaction: opening = 382.34 + 6.60 + 316.67 + 22.00.
    assert statement.opening_balance == Decimal("727.61")
    assert (statement.period_start, statement.period_end) == (
        datetime.date(2009, 4, 1),
        datetime.date(2009, 5, 23),
    )


def test_chase_credit_card_qfx_has_one_charge_and_keeps_its_non_ascii_name():
    statement = parse(shared_fixture("ofx/chase_cc.qfx"))
    assert len(statement.transactions) == 1
    charge = statement.transactions[0]
    assert charge.amount == Decimal("-10.00")
    assert charge.description == "SQ *ECCO UN POCO ¦ NATURA"
    assert statement.currency == "USD"


def test_multiple_accounts_gives_five_transactions_over_two_accounts():
    statement = parse(shared_fixture("ofx/multiple_accounts.ofx"))
    assert len(statement.transactions) == 5
    assert statement.accounts == ("78934567889", "89273829182")
    assert {t.account for t in statement.transactions} == {"78934567889", "89273829182"}
    assert statement.currency == "EUR"
    assert [t.date for t in statement.transactions] == sorted(t.date for t in statement.transactions)


def test_bank_small_empty_fails_with_no_transactions():
    with pytest.raises(StatementError) as error:
        parse(shared_fixture("ofx/bank_small_empty.ofx"))
    assert error.value.reason == "No transactions found in the file"


def test_decimal_error_fails_with_a_clear_reason():
    with pytest.raises(StatementError) as error:
        parse(shared_fixture("ofx/decimal_error.ofx"))
    assert error.value.reason.startswith("Malformed OFX: transaction 1:")
    assert "201120000000" in error.value.reason


def test_it_reads_ofx_2_xml_and_unescapes_entities():
    data = ofx_v2([("20240105", "-12.50", "AT&amp;T"), ("20240106", "100.00", "DEPOSIT")], balance="87.50")
    statement = parse(data)
    assert [(t.date, t.description, t.amount) for t in statement.transactions] == [
        (datetime.date(2024, 1, 5), "AT&T", Decimal("-12.50")),
        (datetime.date(2024, 1, 6), "DEPOSIT", Decimal("100.00")),
    ]
    assert statement.opening_balance == Decimal("0.00")
    assert statement.closing_balance == Decimal("87.50")
    assert statement.accounts == ("555123",)


def test_a_truncated_ofx_file_fails_instead_of_losing_transactions():
    data = fixture("ofx/multiple_accounts.ofx")
    with pytest.raises(StatementError) as error:
        parse(data[: len(data) // 2])
    assert error.value.reason == "Malformed OFX: the file is truncated (no closing </OFX>)"


def test_an_ofx_amount_that_is_not_a_number_is_reported():
    data = ofx_v2([("20240105", "12,50,1", "X")])
    with pytest.raises(StatementError) as error:
        parse(data)
    assert error.value.reason.startswith("Malformed OFX: transaction 1:")
