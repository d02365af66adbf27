"""CSV bank exports: every layout the product contract names, read through the public API."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest

from deals.parsing import ParsedStatement, StatementError, extract_document, parse_document
from deals.stored import to_json
from tests.deals.statement_files import csv_bytes


def parse(data: bytes) -> ParsedStatement:
    doc = extract_document(data)
    assert doc.format == "csv"
    return parse_document(doc)


def amounts(statement: ParsedStatement) -> list[Decimal]:
    return [t.amount for t in statement.transactions]


def test_it_reads_a_signed_amount_column_with_running_balance():
    data = csv_bytes(
        [
            ["Date", "Description", "Amount", "Balance"],
            ["01/15/2024", "ACH DEPOSIT STRIPE", "$1,250.00", "$5,430.10"],
            ["01/16/2024", "RENT", "-$430.10", "$5,000.00"],
        ]
    )
    statement = parse(data)
    assert statement.format == "csv"
    assert amounts(statement) == [Decimal("1250.00"), Decimal("-430.10")]
    assert [t.balance for t in statement.transactions] == [Decimal("5430.10"), Decimal("5000.00")]
    assert [t.date for t in statement.transactions] == [
        datetime.date(2024, 1, 15),
        datetime.date(2024, 1, 16),
    ]
    assert statement.transactions[0].description == "ACH DEPOSIT STRIPE"
    assert statement.currency == "USD"


def test_it_reads_separate_withdrawal_and_deposit_columns_under_a_preamble():
    data = csv_bytes(
        [
            ["Date", "Description", "Withdrawals", "Deposits", "Balance"],
            ["01/02/2024", "Beginning balance", "", "", "4,180.10"],
            ["01/15/2024", "ACH DEPOSIT STRIPE", "", "1,250.00", "5,430.10"],
            ["01/16/2024", "CHECK 1042", "430.10", "", "5,000.00"],
            ["", "Total", "430.10", "1,250.00", ""],
        ],
        preamble=[
            ["Account Number:", "****6789"],
            ["Statement Period", "01/01/2024 - 01/31/2024"],
            ["Currency", "USD"],
            [],
        ],
    )
    statement = parse(data)
    assert amounts(statement) == [Decimal("1250.00"), Decimal("-430.10")]
    assert statement.accounts == ("****6789",)
    assert statement.transactions[0].account == "****6789"
    assert statement.opening_balance == Decimal("4180.10")
    assert statement.period_start == datetime.date(2024, 1, 1)
    assert statement.period_end == datetime.date(2024, 1, 31)
    assert statement.currency == "USD"


def test_it_reads_debit_and_credit_columns_where_debits_are_negative():
    data = csv_bytes(
        [
            ["Posting Date", "Details", "Debit", "Credit"],
            ["2024-02-01", "PAYROLL", "-2,000.00", ""],
            ["2024-02-02", "CARD SETTLEMENT", "", "3,100.55"],
        ]
    )
    assert amounts(parse(data)) == [Decimal("-2000.00"), Decimal("3100.55")]


def test_it_reads_a_german_export_in_latin_1_with_semicolons_and_eu_decimals():
    data = csv_bytes(
        [
            ["Buchungstag", "Verwendungszweck", "Betrag (EUR)", "Saldo"],
            ["15.01.2024", "Überweisung Miete", "-1.234,56", "5.000,00"],
            ["16.01.2024", "Gutschrift Kunde Müller", "2.000,00", "7.000,00"],
        ],
        delimiter=";",
        encoding="latin-1",
    )
    doc = extract_document(data)
    assert doc.encoding in {"cp1252", "latin-1"}
    statement = parse_document(doc)
    assert amounts(statement) == [Decimal("-1234.56"), Decimal("2000.00")]
    assert statement.transactions[0].description == "Überweisung Miete"
    assert statement.transactions[1].date == datetime.date(2024, 1, 16)
    assert statement.transactions[1].balance == Decimal("7000.00")


def test_it_reads_day_first_slashed_dates_when_only_that_makes_every_row_valid():
    data = csv_bytes(
        [
            ["Date", "Description", "Amount"],
            ["02/01/2024", "A", "10.00"],
            ["25/01/2024", "B", "20.00"],
        ]
    )
    dates = [t.date for t in parse(data).transactions]
    assert dates == [datetime.date(2024, 1, 2), datetime.date(2024, 1, 25)]


def test_it_reads_month_first_dates_when_only_that_makes_every_row_valid():
    data = csv_bytes([["Date", "Description", "Amount"], ["01/02/2024", "A", "1"], ["01/25/2024", "B", "2"]])
    assert [t.date for t in parse(data).transactions] == [
        datetime.date(2024, 1, 2),
        datetime.date(2024, 1, 25),
    ]


def test_it_settles_ambiguous_dates_by_the_order_that_keeps_the_statement_sorted():
    data = csv_bytes(
        [
            ["Date", "Description", "Amount"],
            ["05/01/2024", "A", "1.00"],
            ["06/01/2024", "B", "1.00"],
            ["07/01/2024", "C", "1.00"],
            ["01/02/2024", "D", "1.00"],
        ]
    )
    # Day first gives 5, 6, 7 January then 1 February; month first would jump back to 2 January.
    assert [t.date for t in parse(data).transactions] == [
        datetime.date(2024, 1, 5),
        datetime.date(2024, 1, 6),
        datetime.date(2024, 1, 7),
        datetime.date(2024, 2, 1),
    ]


def test_it_reads_iso_dates_tabs_parentheses_and_cr_dr_suffixes():
    data = csv_bytes(
        [
            ["Date", "Description", "Amount"],
            ["2024-01-15", "FEE", "(12.50)"],
            ["2024-01-16T09:30:00", "REFUND", "100.00 CR"],
            ["2024-01-17", "TRANSFER OUT", "40.00 DR"],
            ["2024-01-18", "COUNTER", "7.25-"],
        ],
        delimiter="\t",
    )
    statement = parse(data)
    assert amounts(statement) == [Decimal("-12.50"), Decimal("100.00"), Decimal("-40.00"), Decimal("-7.25")]
    assert statement.transactions[1].date == datetime.date(2024, 1, 16)


def test_it_reads_an_amount_with_a_separate_debit_credit_marker():
    data = csv_bytes(
        [
            ["Txn Date", "Narration", "Amount", "Dr/Cr"],
            ["10-Jan-2024", "NEFT FROM CLIENT", "5,000.00", "CR"],
            ["11-Jan-2024", "ATM WITHDRAWAL", "2,000.00", "DR"],
        ]
    )
    statement = parse(data)
    assert amounts(statement) == [Decimal("5000.00"), Decimal("-2000.00")]
    assert statement.transactions[0].date == datetime.date(2024, 1, 10)


def test_it_reads_a_utf8_file_with_a_byte_order_mark():
    data = b"\xef\xbb\xbf" + csv_bytes(
        [["Date", "Description", "Amount"], ["03/01/2024", "Caf\u00e9", "4.50"]]
    )
    statement = parse(data)
    assert statement.transactions[0].description == "Café"
    assert statement.transactions[0].amount == Decimal("4.50")


def test_it_puts_newest_first_files_in_chronological_order():
    data = csv_bytes(
        [
            ["Date", "Description", "Amount", "Balance"],
            ["01/03/2024", "C", "-5.00", "95.00"],
            ["01/02/2024", "B", "-10.00", "100.00"],
            ["01/01/2024", "A", "110.00", "110.00"],
        ]
    )
    assert [t.description for t in parse(data).transactions] == ["A", "B", "C"]


def test_it_infers_the_columns_of_a_headerless_export():
    data = (
        b'"01/15/2024","-12.00","*","","COFFEE SHOP 123"\r\n'
        b'"01/16/2024","500.00","*","","MOBILE DEPOSIT"\r\n'
        b'"01/17/2024","-30.25","*","","GAS STATION"\r\n'
    )
    statement = parse(data)
    assert amounts(statement) == [Decimal("-12.00"), Decimal("500.00"), Decimal("-30.25")]
    assert statement.transactions[1].description == "MOBILE DEPOSIT"


def test_it_picks_the_semicolon_even_when_eu_decimals_contain_commas():
    data = b"Datum;Omschrijving;Bedrag\n02-01-2024;Huur;-850,00\n15-01-2024;Omzet;1.500,25\n"
    statement = parse(data)
    assert amounts(statement) == [Decimal("-850.00"), Decimal("1500.25")]
    assert statement.transactions[1].date == datetime.date(2024, 1, 15)


def test_it_names_the_row_of_an_unreadable_amount():
    data = csv_bytes(
        [["Date", "Description", "Amount"], ["01/02/2024", "A", "10.00"], ["01/03/2024", "B", "ten"]]
    )
    with pytest.raises(StatementError) as error:
        parse(data)
    assert error.value.reason == "Row 3: could not read the amount 'ten'"


def test_a_header_without_rows_has_no_transactions():
    with pytest.raises(StatementError) as error:
        parse(csv_bytes([["Date", "Description", "Amount"]]))
    assert error.value.reason == "No transactions found in the file"


def test_a_csv_without_date_and_amount_columns_is_rejected():
    with pytest.raises(StatementError) as error:
        parse(b"name,colour\nalice,red\nbob,blue\n")
    assert "Could not recognise the CSV layout" in error.value.reason


def test_it_reads_all_rows_of_a_10000_row_file():
    rows = [["Date", "Description", "Amount", "Balance"]]
    balance = Decimal(0)
    for i in range(10_000):
        day = datetime.date(2023, 1, 1) + datetime.timedelta(days=i // 30)
        amount = Decimal(i % 97 - 40)
        balance += amount
        rows.append([day.strftime("%m/%d/%Y"), f"ITEM {i}", f"{amount:.2f}", f"{balance:,.2f}"])
    statement = parse(csv_bytes(rows))
    assert len(statement.transactions) == 10_000
    assert statement.transactions[-1].balance == balance
    assert sum(amounts(statement)) == balance


def test_it_refuses_more_than_100000_rows():
    body = "".join(f"01/01/2024,x,{i}.00\n" for i in range(100_300))
    with pytest.raises(StatementError) as error:
        parse(("Date,Description,Amount\n" + body).encode())
    assert error.value.reason == "The file has more than 100,000 rows"


def test_it_refuses_an_absurdly_long_line():
    data = b"Date,Description,Amount\n01/01/2024," + b"x" * 20_000 + b",1.00\n"
    with pytest.raises(StatementError) as error:
        parse(data)
    assert "longer than 10,000 characters" in error.value.reason


def test_stored_json_renders_money_as_strings_and_dates_as_iso():
    statement = parse(csv_bytes([["Date", "Description", "Amount"], ["2024-01-05", "A", "1,000.50"]]))
    assert to_json(statement)["transactions"] == [
        {
            "date": "2024-01-05",
            "description": "A",
            "amount": "1000.50",
            "balance": None,
            "account": None,
            "counterparty": None,
            "row": 2,
        }
    ]


def test_it_reads_a_bank_of_america_style_export_with_a_summary_block():
    data = (
        b"Description,,Summary Amt.\r\n"
        b'Beginning balance as of 01/01/2024,,"1,000.00"\r\n'
        b'Total credits,,"5,000.00"\r\n'
        b'Ending balance as of 01/31/2024,,"4,000.00"\r\n'
        b"\r\n"
        b"Date,Description,Amount,Running Bal.\r\n"
        b'01/01/2024,Beginning balance as of 01/01/2024,,"1,000.00"\r\n'
        b'01/02/2024,"STRIPE TRANSFER","5,000.00","6,000.00"\r\n'
        b'01/03/2024,"RENT","-2,000.00","4,000.00"\r\n'
    )
    statement = parse(data)
    assert [(t.description, t.amount, t.balance) for t in statement.transactions] == [
        ("STRIPE TRANSFER", Decimal("5000.00"), Decimal("6000.00")),
        ("RENT", Decimal("-2000.00"), Decimal("4000.00")),
    ]
    assert (statement.opening_balance, statement.closing_balance) == (Decimal("1000.00"), Decimal("4000.00"))


def test_it_reads_a_chase_style_export_with_trailing_commas_and_a_details_column():
    data = (
        b"Details,Posting Date,Description,Amount,Type,Balance,Check or Slip #\r\n"
        b'DEBIT,01/03/2024,"ORIG CO NAME:XYZ FUNDING ORIG ID:123",-500.00,ACH_DEBIT,4500.00,,\r\n'
        b'CREDIT,01/02/2024,"STRIPE   TRANSFER",5000.00,ACH_CREDIT,5000.00,,\r\n'
    )
    statement = parse(data)
    assert [(t.date, t.description, t.amount) for t in statement.transactions] == [
        (datetime.date(2024, 1, 2), "STRIPE TRANSFER", Decimal("5000.00")),
        (datetime.date(2024, 1, 3), "ORIG CO NAME:XYZ FUNDING ORIG ID:123", Decimal("-500.00")),
    ]
