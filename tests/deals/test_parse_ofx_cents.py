"""OFX amounts are quantised to cents, half up, and the statement says when it rounded (class 8)."""

from __future__ import annotations

from decimal import Decimal

from deals.parsing import ParsedStatement, extract_document, parse_document
from tests.deals.ofx_files import bank_statement, ofx_file


def parse(entries: list[tuple[str, str, str]], ledger: str = "0.00") -> ParsedStatement:
    return parse_document(extract_document(ofx_file([bank_statement(entries, ledger=ledger)])))


def test_it_rounds_amounts_to_cents_half_up_and_names_the_rows():
    statement = parse(
        [
            ("20240102", "10.005", "A"),
            ("20240103", "-3.3349", "B"),
            ("20240104", "7.10", "C"),
            ("20240105", "-0.125", "D"),
        ],
        ledger="1000.0049",
    )
    assert [t.amount for t in statement.transactions] == [
        Decimal("10.01"),
        Decimal("-3.33"),
        Decimal("7.10"),
        Decimal("-0.13"),
    ]
    assert all(t.amount.as_tuple().exponent == -2 for t in statement.transactions)
    assert statement.closing_balance == Decimal("1000.00")
    [warning] = statement.warnings
    assert warning.code == "amounts_rounded"
    assert warning.evidence == {"rows": [1, 2, 4]}


def test_whole_amounts_gain_cents_without_a_warning():
    statement = parse([("20240102", "125", "A"), ("20240103", "-4.5", "B")], ledger="120.5")
    assert [str(t.amount) for t in statement.transactions] == ["125.00", "-4.50"]
    assert str(statement.closing_balance) == "120.50"
    assert str(statement.opening_balance) == "0.00"
    assert statement.warnings == ()


def test_a_decimal_comma_amount_is_read_as_ofx_allows():
    statement = parse([("20240102", "1234,56", "A"), ("20240103", "-0,5", "B")])
    assert [t.amount for t in statement.transactions] == [Decimal("1234.56"), Decimal("-0.50")]
