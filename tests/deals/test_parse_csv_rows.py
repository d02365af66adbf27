"""Rows and details: unreadable rows skipped and listed, row numbers, order, balances above the table,
counterparties told apart from the statement's own account."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest

from deals.parsing import ParsedStatement, StatementError, extract_document, parse_document
from deals.parsing.delimited import MAX_SKIPPED_ROWS
from tests.deals.statement_files import csv_bytes


def parse(data: bytes) -> ParsedStatement:
    return parse_document(extract_document(data))


def reason_for(data: bytes) -> str:
    with pytest.raises(StatementError) as error:
        parse(data)
    return error.value.reason


def ledger(count: int, bad: dict[int, str]) -> bytes:
    """`count` rows of a plain export; the rows numbered in `bad` (0-based) get that amount cell."""
    rows: list[list[str]] = [["Date", "Description", "Amount"]]
    for i in range(count):
        day = datetime.date(2024, 1, 1) + datetime.timedelta(days=i % 28)
        rows.append([day.isoformat(), f"ITEM {i}", bad.get(i, f"{i + 1}.00")])
    return csv_bytes(rows)


def test_one_unreadable_row_is_skipped_listed_and_warned_about():
    statement = parse(ledger(30, {4: "n/a"}))
    assert len(statement.transactions) == 29
    # Row 4 of the data is line 6 of the file: the header is line 1.
    assert [(r.row, r.reason) for r in statement.rows_skipped] == [(6, "could not read the amount 'n/a'")]
    (finding,) = [w for w in statement.warnings if w.code == "rows_skipped"]
    assert finding.evidence == {"rows": [{"row": 6, "reason": "could not read the amount 'n/a'"}]}
    assert "row 6" in finding.message


def test_an_impossible_date_is_a_skipped_row_too():
    data = csv_bytes(
        [["Date", "Description", "Amount"]]
        + [[f"2024-01-{d:02d}", "X", "1.00"] for d in range(1, 15)]
        + [["2024-02-31", "BROKEN", "5.00"]]
    )
    statement = parse(data)
    assert [(r.row, r.reason) for r in statement.rows_skipped] == [
        (16, "could not read the date '2024-02-31'")
    ]


def test_more_than_ten_percent_of_bad_rows_refuses_the_file():
    reason = reason_for(ledger(20, {3: "x", 7: "y", 9: "z"}))
    assert reason.startswith(
        "3 of 20 rows could not be read (the first is row 5: could not read the amount 'x')"
    )


def test_more_than_twenty_bad_rows_refuses_even_a_long_file():
    bad = {i: "???" for i in range(0, 500, 20)}
    assert len(bad) > MAX_SKIPPED_ROWS
    assert reason_for(ledger(500, bad)).startswith(f"{len(bad)} of 500 rows could not be read")


def test_every_transaction_knows_its_line_in_the_file():
    data = csv_bytes(
        [
            ["Date", "Description", "Amount"],
            ["2024-01-02", "MULTI\nLINE", "1.00"],
            ["2024-01-03", "NEXT", "2.00"],
        ],
        preamble=[["Account", "12345"], []],
    )
    statement = parse(data)
    # Preamble on lines 1-2, header on 3, the first row spans lines 4-5.
    assert [t.row for t in statement.transactions] == [4, 6]
    assert statement.transactions[0].description == "MULTI LINE"


def test_unsorted_rows_come_out_chronological_with_same_day_order_kept():
    data = csv_bytes(
        [
            ["Date", "Description", "Amount", "Balance"],
            ["2024-01-03", "C1", "-1.00", "109.00"],
            ["2024-01-03", "C2", "-2.00", "107.00"],
            ["2024-01-01", "A1", "100.00", "100.00"],
            ["2024-01-02", "B1", "10.00", "110.00"],
        ]
    )
    assert [t.description for t in parse(data).transactions] == ["A1", "B1", "C1", "C2"]


def test_a_newest_first_file_keeps_the_days_order_right():
    data = csv_bytes(
        [
            ["Date", "Description", "Amount", "Balance"],
            ["2024-01-03", "C2 (booked last)", "-2.00", "107.00"],
            ["2024-01-03", "C1", "-1.00", "109.00"],
            ["2024-01-02", "B1", "10.00", "110.00"],
            ["2024-01-01", "A1", "100.00", "100.00"],
        ]
    )
    statement = parse(data)
    assert [t.description for t in statement.transactions] == ["A1", "B1", "C1", "C2 (booked last)"]
    assert statement.transactions[-1].balance == Decimal("107.00")


def test_a_dkb_export_names_counterparties_and_uses_the_balance_above_the_table():
    data = csv_bytes(
        [
            [
                "Buchungstag",
                "Wertstellung",
                "Buchungstext",
                "Auftraggeber / Begünstigter",
                "Verwendungszweck",
                "Kontonummer",
                "BLZ",
                "Betrag (EUR)",
                "Gläubiger-ID",
                "Mandatsreferenz",
                "Kundenreferenz",
                "",
            ],
            [
                "31.01.2024",
                "31.01.2024",
                "Lastschrift",
                "Finanzamt Berlin",
                "USt-VA 12/2023",
                "DE12100000000010001520",
                "10000000",
                "-1.500,00",
                "DE98ZZZ09999999999",
                "M-1",
                "",
                "",
            ],
            [
                "30.01.2024",
                "30.01.2024",
                "Gutschrift",
                "Kunde Schmidt GmbH",
                "RE 2024-0042",
                "DE89370400440532013000",
                "37040044",
                "4.000,00",
                "",
                "",
                "",
                "",
            ],
            [
                "29.01.2024",
                "29.01.2024",
                "Kartenzahlung",
                "REWE",
                "2024-01-29 Debitk.5",
                "DE02120300000000202051",
                "12030000",
                "-35,20",
                "",
                "",
                "",
                "",
            ],
        ],
        delimiter=";",
        encoding="cp1252",
        preamble=[
            ["Kontonummer:", "DE12 1203 0000 0012 3456 78 / Girokonto"],
            [""],
            ["Von:", "01.01.2024"],
            ["Bis:", "31.01.2024"],
            ["Kontostand vom 31.01.2024:", "5.964,80 EUR"],
            [""],
        ],
    )
    statement = parse(data)
    assert [t.amount for t in statement.transactions] == [
        Decimal("-35.20"),
        Decimal("4000.00"),
        Decimal("-1500.00"),
    ]
    assert statement.accounts == ("DE12 1203 0000 0012 3456 78 / Girokonto",)
    assert statement.transactions[1].counterparty == "Kunde Schmidt GmbH"
    assert "RE 2024-0042" in statement.transactions[1].description
    assert "Finanzamt Berlin" in statement.transactions[2].description
    assert statement.closing_balance == Decimal("5964.80")
    assert (statement.period_start, statement.period_end) == (
        datetime.date(2024, 1, 1),
        datetime.date(2024, 1, 31),
    )


def test_a_counterparty_iban_column_is_the_counterparty_not_the_account():
    data = csv_bytes(
        [
            [
                "Auftragskonto",
                "Buchungstag",
                "Buchungstext",
                "Verwendungszweck",
                "IBAN Auftraggeber",
                "Betrag",
                "Waehrung",
            ],
            [
                "DE11520513735120710131",
                "02.01.24",
                "LASTSCHRIFT",
                "Miete",
                "DE44500105175407324931",
                "-900,00",
                "EUR",
            ],
            [
                "DE11520513735120710131",
                "03.01.24",
                "GUTSCHRIFT",
                "Rechnung 5",
                "DE89370400440532013000",
                "1.500,00",
                "EUR",
            ],
            [
                "DE11520513735120710131",
                "04.01.24",
                "GUTSCHRIFT",
                "Rechnung 6",
                "DE02120300000000202051",
                "700,00",
                "EUR",
            ],
        ],
        delimiter=";",
    )
    statement = parse(data)
    assert statement.accounts == ("DE11520513735120710131",)
    assert [t.counterparty for t in statement.transactions] == [
        "DE44500105175407324931",
        "DE89370400440532013000",
        "DE02120300000000202051",
    ]
    assert statement.transactions[0].description == "LASTSCHRIFT Miete"


def test_balances_printed_above_the_table_are_the_opening_and_closing_anchors():
    data = csv_bytes(
        [
            ["Date", "Description", "Amount"],
            ["2024-01-05", "SALE", "500.00"],
            ["2024-01-09", "RENT", "-200.00"],
        ],
        preamble=[["Opening balance", "1,000.00"], ["Closing balance", "1,300.00"], []],
    )
    statement = parse(data)
    assert (statement.opening_balance, statement.closing_balance) == (Decimal("1000.00"), Decimal("1300.00"))


def test_an_n26_account_number_column_names_the_counterparty_not_the_statement():
    data = (
        b'"Date","Payee","Account number","Transaction type","Payment reference","Amount (EUR)",'
        b'"Amount (Foreign Currency)","Type Foreign Currency","Exchange Rate"\n'
        b'"2024-01-02","Spotify","","MasterCard Payment","","-9.99","","",""\n'
        b'"2024-01-03","ACME GmbH","DE89370400440532013000","Income","Invoice 5","1500.00","","",""\n'
    )
    statement = parse(data)
    assert statement.accounts == ()
    assert [t.counterparty for t in statement.transactions] == ["Spotify", "ACME GmbH"]
    assert [t.amount for t in statement.transactions] == [Decimal("-9.99"), Decimal("1500.00")]


def test_a_pound_sterling_export_reads_ambiguous_dates_day_first():
    data = (
        b"Transaction ID,Date,Time,Type,Name,Category,Amount,Currency,Description\n"
        b"tx_1,02/01/2024,10:00:00,Card payment,Tesco,Groceries,-12.40,GBP,TESCO STORES\n"
        b"tx_2,03/01/2024,11:00:00,Faster payment,Client Ltd,Income,500.00,GBP,CLIENT LTD INV 4\n"
    )
    statement = parse(data)
    assert [t.date for t in statement.transactions] == [datetime.date(2024, 1, 2), datetime.date(2024, 1, 3)]
    assert statement.currency == "GBP"


def test_a_sparkasse_camt_export_reads_betrag_not_the_empty_original_amount_column():
    header = '"Auftragskonto";"Buchungstag";"Valutadatum";"Buchungstext";"Verwendungszweck";"Glaeubiger ID";'
    header += (
        '"Mandatsreferenz";"Kundenreferenz (End-to-End)";"Sammlerreferenz";"Lastschrift Ursprungsbetrag";'
    )
    header += '"Auslagenersatz Ruecklastschrift";"Beguenstigter/Zahlungspflichtiger";"Kontonummer/IBAN";'
    header += '"BIC (SWIFT-Code)";"Betrag";"Waehrung";"Info"\n'
    own = '"DE11520513735120710131"'
    rows = [
        f'{own};"02.01.24";"02.01.24";"FOLGELASTSCHRIFT";"Strom";"DE98ZZZ09999999999";"M1";"";"";"";"";'
        '"Stadtwerke";"DE44500105175407324931";"INGDDEFFXXX";"-84,00";"EUR";"Umsatz gebucht"\n',
        f'{own};"03.01.24";"03.01.24";"GUTSCHR. UEBERWEISUNG";"RE 5";"";"";"";"";"";"";'
        '"Kunde AG";"DE89370400440532013000";"COBADEFFXXX";"1.500,00";"EUR";"Umsatz gebucht"\n',
        f'{own};"04.01.24";"04.01.24";"KARTENZAHLUNG";"REWE";"";"";"";"";"";"";'
        '"REWE";"DE02120300000000202051";"BYLADEM1001";"-35,20";"EUR";"Umsatz gebucht"\n',
    ]
    statement = parse((header + "".join(rows)).encode("cp1252"))
    assert [t.amount for t in statement.transactions] == [
        Decimal("-84.00"),
        Decimal("1500.00"),
        Decimal("-35.20"),
    ]
    assert statement.accounts == ("DE11520513735120710131",)
    assert [t.counterparty for t in statement.transactions] == ["Stadtwerke", "Kunde AG", "REWE"]
    assert statement.transactions[0].date == datetime.date(2024, 1, 2)


def test_an_account_column_that_never_changes_is_the_statements_own_whatever_its_name():
    data = (
        "Buchungstag;Wertstellung;Umsatzart;Buchungstext;Betrag;Währung;Auftraggeberkonto;"
        "Bankleitzahl Auftraggeberkonto;IBAN Auftraggeberkonto\n"
        "02.01.2024;02.01.2024;Lastschrift;Stadtwerke Strom;-84,00;EUR;1234567;20040000;DE11200400000123456700\n"
        "03.01.2024;03.01.2024;Gutschrift;Kunde AG RE 5;1.500,00;EUR;1234567;20040000;DE11200400000123456700\n"
        "04.01.2024;04.01.2024;Lastschrift;REWE;-35,20;EUR;1234567;20040000;DE11200400000123456700\n"
    ).encode("cp1252")
    statement = parse(data)
    assert statement.accounts == ("1234567",)
    assert [t.counterparty for t in statement.transactions] == [None, None, None]


def test_days_listed_newest_first_with_their_lines_oldest_first_follow_the_running_balance():
    data = csv_bytes(
        [
            ["Date", "Description", "Amount", "Balance"],
            ["2024-01-03", "C1", "-1.00", "109.00"],
            ["2024-01-03", "C2", "-2.00", "107.00"],
            ["2024-01-02", "B1", "10.00", "110.00"],
            ["2024-01-01", "A1", "100.00", "100.00"],
        ]
    )
    statement = parse(data)
    assert [t.description for t in statement.transactions] == ["A1", "B1", "C1", "C2"]
    assert [t.balance for t in statement.transactions][-1] == Decimal("107.00")
