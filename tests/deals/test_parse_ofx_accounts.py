"""OFX files with several accounts, card accounts and investment accounts (failure classes 5, 6, 8)."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest

from deals.parsing import ParsedStatement, StatementError, extract_document, parse_document
from deals.parsing.statement import AccountBalances
from tests.deals.ofx_files import bank_statement, card_statement, investment_statement, ofx_file


def parse(data: bytes) -> ParsedStatement:
    return parse_document(extract_document(data))


CHECKING = bank_statement(
    [("20240105", "1500.00", "STRIPE PAYOUT"), ("20240110", "-200.00", "RENT")],
    account="111",
    ledger="2300.00",
)
SAVINGS = bank_statement(
    [("20240107", "50.00", "INTEREST"), ("20240120", "-25.00", "FEE")],
    account="222",
    account_type="SAVINGS",
    ledger="5025.00",
)


def test_it_reads_every_account_of_a_file_and_names_each_one():
    statement = parse(ofx_file([CHECKING, SAVINGS]))
    assert statement.accounts == ("111", "222")
    assert [(t.date.day, t.account, t.amount) for t in statement.transactions] == [
        (5, "111", Decimal("1500.00")),
        (7, "222", Decimal("50.00")),
        (10, "111", Decimal("-200.00")),
        (20, "222", Decimal("-25.00")),
    ]
    # Row is the transaction's place in the file, whatever the date order.
    assert [t.row for t in statement.transactions] == [1, 3, 2, 4]


def test_each_account_has_its_own_balances_and_the_statement_their_sum():
    statement = parse(ofx_file([CHECKING, SAVINGS]))
    assert statement.account_balances == (
        AccountBalances("111", Decimal("1000.00"), Decimal("2300.00"), "USD"),
        AccountBalances("222", Decimal("5000.00"), Decimal("5025.00"), "USD"),
    )
    assert statement.opening_balance == Decimal("6000.00")
    assert statement.closing_balance == Decimal("7325.00")
    assert statement.opening_balance + sum(t.amount for t in statement.transactions) == (
        statement.closing_balance
    )


def test_accounts_without_an_id_are_still_told_apart():
    first = CHECKING.replace("<ACCTID>111\n", "")
    second = SAVINGS.replace("<ACCTID>222\n", "")
    statement = parse(ofx_file([first, second]))
    assert statement.accounts == ("statement 1", "statement 2")
    assert {t.account for t in statement.transactions} == {"statement 1", "statement 2"}


def test_an_account_without_a_ledger_balance_leaves_the_total_unknown():
    no_ledger = bank_statement([("20240107", "50.00", "X")], account="222", ledger=None)
    statement = parse(ofx_file([CHECKING, no_ledger]))
    assert (statement.opening_balance, statement.closing_balance) == (None, None)
    assert statement.account_balances[1] == AccountBalances("222", None, None, "USD")


def test_accounts_in_different_currencies_have_no_single_currency_and_say_so():
    euro = SAVINGS.replace("<CURDEF>USD", "<CURDEF>EUR")
    statement = parse(ofx_file([CHECKING, euro]))
    assert statement.currency is None
    # Dollars and euros do not add up to one balance.
    assert (statement.opening_balance, statement.closing_balance) == (None, None)
    [warning] = [w for w in statement.warnings if w.code == "mixed_currencies"]
    assert warning.evidence["accounts"] == [
        {"account": "111", "currency": "USD"},
        {"account": "222", "currency": "EUR"},
    ]


CARD = card_statement(
    [
        ("20240103", "-120.00", "OFFICE DEPOT"),
        ("20240115", "500.00", "PAYMENT THANK YOU"),
        ("20240118", "-80.50", "SHELL OIL"),
    ],
    ledger="-700.50",
)


def test_a_card_file_keeps_purchases_negative_and_payments_positive():
    statement = parse(ofx_file(cards=[CARD]))
    assert statement.account_type == "credit_card"
    assert [t.amount for t in statement.transactions] == [
        Decimal("-120.00"),
        Decimal("500.00"),
        Decimal("-80.50"),
    ]


def test_a_card_balance_owed_is_never_reported_as_a_bank_balance():
    statement = parse(ofx_file(cards=[CARD]))
    assert (statement.opening_balance, statement.closing_balance) == (None, None)
    # The amount owed stays with the card account, in the file's own sign (negative = owed).
    assert statement.account_balances == (
        AccountBalances("4111000011112222", Decimal("-1000.00"), Decimal("-700.50"), "USD"),
    )


def test_a_file_with_a_bank_and_a_card_account_warns_and_keeps_bank_balances_only():
    statement = parse(ofx_file([CHECKING], cards=[CARD]))
    assert statement.account_type == "unknown"
    assert statement.closing_balance == Decimal("2300.00")
    assert statement.opening_balance == Decimal("1000.00")
    [warning] = [w for w in statement.warnings if w.code == "mixed_account_types"]
    assert warning.evidence == {"card_accounts": ["4111000011112222"]}
    assert len(statement.transactions) == 5


def test_a_savings_account_is_typed_as_savings():
    assert parse(ofx_file([SAVINGS])).account_type == "savings"


def test_an_investment_positions_file_is_refused_in_plain_words():
    with pytest.raises(StatementError) as error:
        parse(ofx_file(investments=[investment_statement()]))
    assert error.value.reason == "This is an investment positions file, not a bank statement"


def test_an_investment_account_beside_a_bank_account_is_left_out_and_noted():
    statement = parse(ofx_file([CHECKING], investments=[investment_statement()]))
    assert statement.accounts == ("111",)
    assert [w.code for w in statement.warnings] == ["investment_account_skipped"]
    assert statement.period_start == datetime.date(2024, 1, 1)


def test_every_transaction_list_of_a_statement_is_read():
    second_list = (
        "<BANKTRANLIST>\n<DTSTART>20240201\n<DTEND>20240229\n<STMTTRN>\n<TRNTYPE>CREDIT\n"
        "<DTPOSTED>20240203\n<TRNAMT>75.00\n<FITID>G1\n<NAME>LATE DEPOSIT\n</STMTTRN>\n</BANKTRANLIST>\n"
    )
    statement = parse(ofx_file([CHECKING.replace("<LEDGERBAL>", second_list + "<LEDGERBAL>")]))
    assert [t.description for t in statement.transactions] == ["STRIPE PAYOUT", "RENT", "LATE DEPOSIT"]
    assert (statement.period_start, statement.period_end) == (
        datetime.date(2024, 1, 1),
        datetime.date(2024, 2, 29),
    )


def test_a_statement_left_unclosed_does_not_lend_its_transactions_to_another():
    unclosed = CHECKING.replace("</STMTRS>\n</STMTTRNRS>\n", "")
    statement = parse(ofx_file([unclosed, SAVINGS]))
    assert len(statement.transactions) == 4
    assert sorted(t.row or 0 for t in statement.transactions) == [1, 2, 3, 4]
    assert {t.account for t in statement.transactions} == {"111", "222"}


def test_a_card_file_whose_purchases_are_positive_is_flagged_not_trusted():
    purchases = [("20240103", "120.00", "A"), ("20240104", "80.50", "B"), ("20240105", "9.99", "C")]
    card = card_statement([*purchases, ("20240115", "-300.00", "PAYMENT")])
    # Purchases typed DEBIT but positive, the payment typed CREDIT but negative.
    data = ofx_file(cards=[card]).replace(b"<TRNTYPE>CREDIT", b"<TRNTYPE>debit")
    data = data.replace(b"<TRNTYPE>DEBIT", b"<TRNTYPE>CREDIT")
    statement = parse(data)
    assert [t.amount for t in statement.transactions][:3] == [
        Decimal("120.00"),
        Decimal("80.50"),
        Decimal("9.99"),
    ]
    [warning] = statement.warnings
    assert warning.code == "signs_contradict_types"
    assert warning.evidence == {"typed_transactions": 4, "contradicting_rows": [1, 2, 3, 4]}


def test_a_few_loosely_typed_transactions_are_no_reason_to_doubt_the_signs():
    entries = [("20240103", "120.00", "A"), ("20240104", "-80.50", "B"), ("20240105", "9.99", "C")]
    statement = parse(ofx_file([bank_statement(entries, trntype="DEBIT")]))
    assert statement.warnings == ()
