"""PDF layouts of other banks and countries: start/end balances, trailing +/- signs, a second
date column, card statements that name only their billing cycle (failure classes 6, 7)."""

from __future__ import annotations

import datetime
from decimal import Decimal

from deals.parsing import ParsedStatement, extract_document, parse_document
from tests.deals.statement_files import text_pdf


def parse(lines: list[str]) -> ParsedStatement:
    return parse_document(extract_document(text_pdf(lines)))


def test_a_uk_statement_with_start_and_end_balance_rows_in_its_table():
    statement = parse(
        [
            "Business Current Account  Sort Code 11-22-33  Account No 44556677",
            "Statement period 01 Apr 2024 - 30 Apr 2024",
            "Start balance £500.00",
            "Money in £300.00",
            "Money out £120.00",
            "End balance £680.00",
            "Date Description Money out Money in Balance",
            "02 Apr Start balance 500.00",
            "03 Apr CARD PAYMENT TO CAFE 20.00 480.00",
            "09 Apr BANK GIRO CREDIT NORTHWIND 300.00 780.00",
            "15 Apr DIRECT DEBIT INSURER 100.00 680.00",
            "15 Apr End balance 680.00",
        ]
    )
    assert [(t.date, t.amount) for t in statement.transactions] == [
        (datetime.date(2024, 4, 3), Decimal("-20.00")),
        (datetime.date(2024, 4, 9), Decimal("300.00")),
        (datetime.date(2024, 4, 15), Decimal("-100.00")),
    ]
    assert (statement.opening_balance, statement.closing_balance) == (Decimal("500.00"), Decimal("680.00"))
    assert statement.currency == "GBP"


def test_a_german_kontoauszug_with_trailing_signs_and_a_value_date_column():
    statement = parse(
        [
            "Kontoauszug 4/2024 Blatt 1",
            "Buchungstag Valuta Vorgang Betrag EUR",
            "Kontostand am 31.03.2024 1.000,00 +",
            "02.04.2024 02.04. Gutschrift Kunde Weber 250,50 +",
            "03.04.2024 04.04. Lastschrift Stadtwerke 80,25 -",
            "Kontostand am 30.04.2024 um 20:00 Uhr 1.170,25 +",
        ]
    )
    assert [(t.date, t.description, t.amount) for t in statement.transactions] == [
        (datetime.date(2024, 4, 2), "Gutschrift Kunde Weber", Decimal("250.50")),
        (datetime.date(2024, 4, 3), "Lastschrift Stadtwerke", Decimal("-80.25")),
    ]
    assert (statement.opening_balance, statement.closing_balance) == (Decimal("1000.00"), Decimal("1170.25"))


def test_a_card_statement_known_by_its_billing_cycle_and_minimum_payment():
    statement = parse(
        [
            "Business Rewards Card ending in 4242",
            "May 3, 2024 - Jun 2, 2024 | 31 days in Billing Cycle",
            "Previous Balance $600.00",
            "New Balance = $425.00",
            "Minimum Payment Due $25.00",
            "Trans Date Post Date Description Amount",
            "Payments, Credits and Adjustments",
            "May 10 May 10 PAYMENT - THANK YOU - $600.00",
            "Transactions",
            "May 5 May 6 OFFICE SUPPLY CO $300.00",
            "May 20 May 21 AIRLINE TICKET $125.00",
        ]
    )
    assert statement.account_type == "credit_card"
    assert [(t.description, t.amount) for t in statement.transactions] == [
        ("OFFICE SUPPLY CO", Decimal("-300.00")),
        ("PAYMENT - THANK YOU", Decimal("600.00")),
        ("AIRLINE TICKET", Decimal("-125.00")),
    ]
    assert (statement.opening_balance, statement.closing_balance) == (None, None)
    [owed] = statement.account_balances
    assert (owed.opening_balance, owed.closing_balance) == (Decimal("-600.00"), Decimal("-425.00"))
    assert (statement.period_start, statement.period_end) == (
        datetime.date(2024, 5, 3),
        datetime.date(2024, 6, 2),
    )
