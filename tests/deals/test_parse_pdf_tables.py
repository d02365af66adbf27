"""PDF summary and daily balance tables are not transactions; the statement's own balances are
read and agree with the lines (failure class 7)."""

from __future__ import annotations

import datetime
from decimal import Decimal

from deals.parsing import ParsedStatement, extract_document, parse_document
from tests.deals.pdf_statements import (
    CARD_AND_ELECTRONIC,
    CHECKS,
    DAILY_BALANCES,
    DEPOSITS,
    SUMMARY,
    checking_statement,
)
from tests.deals.statement_files import text_pdf


def parse(lines: list[str]) -> ParsedStatement:
    return parse_document(extract_document(text_pdf(lines)))


def test_a_business_checking_statement_reads_its_ten_amounts_and_nothing_else():
    statement = parse(checking_statement())
    assert [(t.date.day, t.amount) for t in statement.transactions] == [
        (4, Decimal("4200.00")),
        (6, Decimal("-1200.00")),
        (8, Decimal("-84.12")),
        (11, Decimal("1650.00")),
        (14, Decimal("-980.00")),
        (15, Decimal("-3460.00")),
        (20, Decimal("-550.00")),
        (25, Decimal("3500.00")),
        (28, Decimal("-750.00")),
        (29, Decimal("-15.00")),
    ]
    assert statement.warnings == ()
    assert statement.rows_skipped == ()


def test_the_statements_own_balances_are_read_and_agree_with_the_lines():
    statement = parse(checking_statement())
    assert statement.opening_balance == Decimal("12500.00")
    assert statement.closing_balance == Decimal("14810.88")
    total = sum(t.amount for t in statement.transactions)
    assert statement.opening_balance + total == statement.closing_balance
    assert (statement.period_start, statement.period_end) == (
        datetime.date(2024, 3, 1),
        datetime.date(2024, 3, 31),
    )
    assert statement.currency == "USD"


def test_the_summary_table_and_a_dated_beginning_balance_are_not_transactions():
    statement = parse([*SUMMARY, "03/01/2024 Beginning balance 12,500.00", *DEPOSITS[:3]])
    assert [t.amount for t in statement.transactions] == [Decimal("4200.00")]
    assert statement.opening_balance == Decimal("12500.00")


def test_a_dated_summary_table_is_not_read_as_transactions():
    summary = [
        "ACCOUNT SUMMARY",
        "03/01/2024 Deposits 9,350.00",
        "03/31/2024 Withdrawals 7,039.12",
    ]
    statement = parse(summary + DEPOSITS)
    assert [t.amount for t in statement.transactions] == [
        Decimal("4200.00"),
        Decimal("1650.00"),
        Decimal("3500.00"),
    ]
    # Unusual enough that the underwriter is told which lines were left out.
    [warning] = statement.warnings
    assert (warning.code, warning.evidence) == ("summary_lines_not_read", {"rows": [2, 3]})


def test_the_daily_ending_balance_table_is_not_read_as_transactions():
    statement = parse(SUMMARY[:1] + DEPOSITS + DAILY_BALANCES)
    assert len(statement.transactions) == 3
    assert all(t.amount > 0 for t in statement.transactions)


def test_a_daily_balance_row_is_recognised_even_without_its_heading():
    statement = parse(
        SUMMARY[:1] + DEPOSITS[:-1] + ["03/04 16,700.00 03/15 12,625.88", "03/06 15,500.00 03/20 12,075.88"]
    )
    assert len(statement.transactions) == 3


def test_a_balance_carried_forward_at_a_page_break_is_not_a_transaction():
    lines = [
        "Beginning Balance 1,000.00",
        "Date Description Amount Balance",
        "03/04/2024 DEPOSIT 200.00 1,200.00",
        "03/05/2024 Balance carried forward 1,200.00",
        "03/05/2024 Balance brought forward 1,200.00",
        "03/06/2024 VENDOR PAYMENT 100.00 1,100.00",
        "Ending Balance 1,100.00",
    ]
    statement = parse(lines)
    assert [t.amount for t in statement.transactions] == [Decimal("200.00"), Decimal("-100.00")]
    assert (statement.opening_balance, statement.closing_balance) == (Decimal("1000.00"), Decimal("1100.00"))


def test_several_different_opening_balances_leave_the_balance_unknown_and_say_so():
    lines = [
        "Account 1111 Beginning Balance 1,000.00",
        "Account 2222 Beginning Balance 5,000.00",
        "Deposits",
        "03/04/2024 DEPOSIT 200.00",
        "Ending Balance 1,200.00",
    ]
    statement = parse(lines)
    assert statement.opening_balance is None
    assert statement.closing_balance == Decimal("1200.00")
    [warning] = statement.warnings
    assert warning.code == "ambiguous_balances"
    assert warning.evidence == {
        "kind": "opening",
        "figures": [{"row": 1, "amount": "1000.00"}, {"row": 2, "amount": "5000.00"}],
    }


def test_a_summary_printed_twice_gives_one_balance():
    statement = parse(SUMMARY + DEPOSITS + SUMMARY[3:] + CHECKS + CARD_AND_ELECTRONIC)
    assert statement.opening_balance == Decimal("12500.00")
    assert statement.closing_balance == Decimal("14810.88")
    assert statement.warnings == ()


def test_each_transaction_names_its_line_in_the_extracted_text():
    lines = checking_statement()
    statement = parse(lines)
    for transaction in statement.transactions:
        assert transaction.row is not None
        printed = lines[transaction.row - 1]
        assert f"{abs(transaction.amount):,.2f}" in printed


def test_the_account_the_statement_names_is_on_every_transaction():
    statement = parse(checking_statement())
    assert statement.accounts == ("000000123456789",)
    assert {t.account for t in statement.transactions} == {"000000123456789"}
