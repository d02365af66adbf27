"""What kind of document a CSV is: transactions, a balance history, holdings, or a card statement."""

from __future__ import annotations

from decimal import Decimal

import pytest

from deals.parsing import ParsedStatement, StatementError, extract_document, parse_document
from deals.parsing.delimited import BALANCE_HISTORY, NUMBERS_ONLY, POSITIONS
from tests.deals.statement_files import csv_bytes


def parse(data: bytes) -> ParsedStatement:
    return parse_document(extract_document(data))


def reason_for(data: bytes) -> str:
    with pytest.raises(StatementError) as error:
        parse(data)
    return error.value.reason


def amounts(statement: ParsedStatement) -> list[Decimal]:
    return [t.amount for t in statement.transactions]


# 5. Not a transaction statement ----------------------------------------------------------------------


def test_a_daily_balance_history_is_refused_in_plain_words():
    data = csv_bytes(
        [
            ["Date", "Ledger Balance", "Available Balance"],
            ["01/02/2024", "10,250.00", "10,100.00"],
            ["01/03/2024", "9,870.55", "9,870.55"],
            ["01/04/2024", "12,004.10", "11,500.00"],
        ]
    )
    assert reason_for(data) == BALANCE_HISTORY
    assert BALANCE_HISTORY.startswith("This looks like a daily balance history, not a list of transactions.")


def test_a_german_balance_history_is_refused_too():
    data = csv_bytes(
        [["Datum", "Kontostand"], ["01.02.2024", "1.000,00"], ["02.02.2024", "1.250,00"]],
        delimiter=";",
    )
    assert reason_for(data) == BALANCE_HISTORY


def test_a_positions_only_investment_file_is_refused():
    data = csv_bytes(
        [
            ["Account Number", "Investment Name", "Symbol", "Shares", "Share Price", "Total Value"],
            ["12345678", "VANGUARD TOTAL STOCK MARKET", "VTI", "120.5", "245.10", "29534.55"],
            ["12345678", "VANGUARD FEDERAL MONEY MARKET", "VMFXX", "1500", "1.00", "1500.00"],
        ]
    )
    assert reason_for(data) == POSITIONS


def test_a_dated_positions_file_is_refused_not_read_as_transactions():
    data = csv_bytes(
        [
            ["As of Date", "Symbol", "Description", "Quantity", "Price", "Market Value"],
            ["03/31/2024", "AAPL", "APPLE INC", "10", "171.48", "1714.80"],
            ["03/31/2024", "MSFT", "MICROSOFT CORP", "5", "420.72", "2103.60"],
        ]
    )
    assert reason_for(data) == POSITIONS


def test_an_investment_transaction_history_is_read_not_refused():
    data = csv_bytes(
        [
            ["Date", "Action", "Symbol", "Description", "Quantity", "Price", "Fees & Comm", "Amount"],
            ["03/01/2024", "Buy", "VTI", "VANGUARD TOTAL STOCK MKT", "10", "$245.10", "", "-$2,451.00"],
            ["03/05/2024", "Cash Dividend", "VTI", "VANGUARD TOTAL STOCK MKT", "", "", "", "$12.34"],
        ]
    )
    statement = parse(data)
    assert amounts(statement) == [Decimal("-2451.00"), Decimal("12.34")]
    assert statement.transactions[0].description.startswith("Buy")
    # Not a bank account: the scoring side must not take dividends and sales for revenue.
    assert statement.account_type == "unknown"


# 6. Card statements: purchases are outflows, payments are not deposits of revenue, no owed balance ---


def test_an_amex_export_with_positive_purchases_gets_bank_signs():
    data = csv_bytes(
        [
            ["Date", "Description", "Card Member", "Account #", "Amount"],
            ["01/03/2024", "AMAZON MARKETPLACE", "J SMITH", "-41006", "84.12"],
            ["01/09/2024", "AUTOPAY PAYMENT - THANK YOU", "J SMITH", "-41006", "-1,200.00"],
            ["01/12/2024", "DELTA AIR LINES", "J SMITH", "-41006", "412.60"],
        ]
    )
    statement = parse(data)
    assert statement.account_type == "credit_card"
    assert amounts(statement) == [Decimal("-84.12"), Decimal("1200.00"), Decimal("-412.60")]


def test_a_chase_card_export_already_in_bank_signs_keeps_them():
    data = csv_bytes(
        [
            ["Transaction Date", "Post Date", "Description", "Category", "Type", "Amount", "Memo"],
            ["01/05/2024", "01/06/2024", "STAPLES 123", "Shopping", "Sale", "-56.20", ""],
            ["01/10/2024", "01/10/2024", "Payment Thank You-Mobile", "", "Payment", "500.00", ""],
            ["01/12/2024", "01/14/2024", "SHELL OIL", "Gas", "Sale", "-45.00", ""],
        ]
    )
    statement = parse(data)
    assert statement.account_type == "credit_card"
    assert amounts(statement) == [Decimal("-56.20"), Decimal("500.00"), Decimal("-45.00")]


def test_a_discover_export_without_any_payment_reads_purchases_as_outflows():
    data = csv_bytes(
        [
            ["Trans. Date", "Post Date", "Description", "Amount", "Category"],
            ["02/01/2024", "02/02/2024", "GOOGLE *ADS", "150.00", "Services"],
            ["02/03/2024", "02/03/2024", "UBER TRIP", "23.40", "Travel"],
            ["02/05/2024", "02/06/2024", "REFUND ACME", "-10.00", "Merchandise"],
        ]
    )
    statement = parse(data)
    assert statement.account_type == "credit_card"
    assert amounts(statement) == [Decimal("-150.00"), Decimal("-23.40"), Decimal("10.00")]


def test_a_capital_one_card_with_debit_and_credit_columns_reads_purchases_as_outflows():
    data = csv_bytes(
        [
            ["Transaction Date", "Posted Date", "Card No.", "Description", "Category", "Debit", "Credit"],
            ["2024-02-01", "2024-02-02", "1234", "HOME DEPOT", "Merchandise", "310.25", ""],
            ["2024-02-04", "2024-02-04", "1234", "CAPITAL ONE MOBILE PYMT", "Payment/Credit", "", "300.00"],
        ]
    )
    statement = parse(data)
    assert statement.account_type == "credit_card"
    assert amounts(statement) == [Decimal("-310.25"), Decimal("300.00")]


def test_a_card_balance_is_an_amount_owed_and_never_a_bank_balance():
    data = csv_bytes(
        [
            ["Date", "Description", "Amount", "Balance"],
            ["03/01/2024", "OFFICE SUPPLIES", "-120.00", "-1,120.00"],
            ["03/04/2024", "PAYMENT RECEIVED THANK YOU", "1,000.00", "-120.00"],
        ],
        preamble=[["Account", "Business Platinum Credit Card ****1234"], ["Closing Balance", "-120.00"], []],
    )
    statement = parse(data)
    assert statement.account_type == "credit_card"
    assert [t.balance for t in statement.transactions] == [None, None]
    assert statement.closing_balance is None


def test_a_bank_account_stays_a_checking_account():
    data = csv_bytes([["Date", "Description", "Amount"], ["2024-01-02", "CARD SETTLEMENT", "10.00"]])
    assert parse(data).account_type == "checking"


def test_a_card_export_without_card_headers_is_recognised_by_its_thank_you_payments():
    data = csv_bytes(
        [
            ["Date", "Description", "Amount"],
            ["04/02/2024", "ADOBE CREATIVE CLOUD", "54.99"],
            ["04/08/2024", "ONLINE PAYMENT, THANK YOU", "(800.00)"],
            ["04/11/2024", "FEDEX OFFICE", "23.10"],
        ]
    )
    statement = parse(data)
    assert statement.account_type == "credit_card"
    assert amounts(statement) == [Decimal("-54.99"), Decimal("800.00"), Decimal("-23.10")]


def test_a_headerless_file_of_dates_and_one_number_is_refused_as_ambiguous():
    assert reason_for(b"2024-01-01,1000.00\n2024-01-02,1200.00\n2024-01-03,1150.00\n") == NUMBERS_ONLY


def test_a_header_without_a_date_column_is_refused_naming_its_columns():
    data = csv_bytes(
        [
            ["Date", "Description", "Amount"],
            ["yesterday", "A", "1.00"],
            ["today", "B", "2.00"],
            ["now", "C", "3.00"],
        ]
    )
    # "Date" is named but holds no dates, so no header is found and no layout can be inferred.
    assert reason_for(data).startswith("Could not recognise the CSV layout")


def test_a_preamble_naming_a_savings_account_makes_it_a_savings_statement():
    data = csv_bytes(
        [["Date", "Description", "Amount"], ["2024-01-31", "INTEREST", "4.12"]],
        preamble=[["Account", "Business Savings ****9876"], []],
    )
    assert parse(data).account_type == "savings"


def test_a_balance_report_with_a_float_column_is_a_balance_history_not_transactions():
    # J.P. Morgan-style: ledger, available and collected balances and the day's float.
    data = csv_bytes(
        [
            ["Date", "Ledger Balance", "Available Balance", "Collected Balance", "1-Day Float"],
            ["07/01/2024", "46,587.73", "46,337.73", "46,337.73", "250.00"],
            ["07/02/2024", "46,471.77", "46,221.77", "46,221.77", "250.00"],
            ["07/03/2024", "46,407.80", "46,157.80", "46,157.80", "250.00"],
            ["07/05/2024", "41,757.44", "41,507.44", "41,507.44", "250.00"],
        ],
        preamble=[["Account", "****7781"], ["Report", "Balance History"], []],
    )
    assert reason_for(data) == BALANCE_HISTORY


def test_an_unnamed_amount_the_balance_follows_is_read_beside_a_balance():
    data = csv_bytes(
        [
            ["Date", "Balance", "Movement"],
            ["07/01/2024", "1,000.00", "1,000.00"],
            ["07/02/2024", "750.00", "-250.00"],
            ["07/03/2024", "1,250.00", "500.00"],
        ]
    )
    assert amounts(parse(data)) == [Decimal("1000.00"), Decimal("-250.00"), Decimal("500.00")]
