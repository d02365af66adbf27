"""Which column is the amount: chosen by what the cells hold, not by a substring of the header.

Each file is shaped like a real bank's export: its header names, separator, number and date style.
"""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest

from deals.parsing import ParsedStatement, StatementError, extract_document, parse_document
from tests.deals.statement_files import csv_bytes


def parse(data: bytes) -> ParsedStatement:
    return parse_document(extract_document(data))


def amounts(statement: ParsedStatement) -> list[Decimal]:
    return [t.amount for t in statement.transactions]


def codes(statement: ParsedStatement) -> set[str]:
    return {w.code for w in statement.warnings}


# 1. A second date column is never an amount ---------------------------------------------------------


def test_it_never_reads_a_headerless_value_date_column_as_the_amount():
    # A German headerless export: booking date, value date, booking text, purpose, amount, currency.
    data = (
        '"30.12.2013";"31.12.2013";"Lastschrift";"REWE SAGT DANKE 4711";"-23,45";"EUR"\r\n'
        '"30.12.2013";"30.12.2013";"Gutschrift";"KUNDE MUELLER RECHNUNG 17";"1.250,00";"EUR"\r\n'
        '"02.01.2014";"31.12.2013";"Entgelt";"KONTOFUEHRUNG";"-9,90";"EUR"\r\n'
    ).encode("cp1252")
    statement = parse(data)
    assert amounts(statement) == [Decimal("-23.45"), Decimal("1250.00"), Decimal("-9.90")]
    assert [t.date for t in statement.transactions] == [
        datetime.date(2013, 12, 30),
        datetime.date(2013, 12, 30),
        datetime.date(2014, 1, 2),
    ]
    assert "implausible_amounts" not in codes(statement)


def test_it_reads_a_value_date_header_as_a_date_and_books_on_the_booking_date():
    # Valuta means value date in German exports (and currency in Italian ones): its cells decide.
    data = csv_bytes(
        [
            [
                "Buchungstag",
                "Valuta",
                "Auftraggeber/Empfänger",
                "Buchungstext",
                "Verwendungszweck",
                "Betrag",
                "Währung",
            ],
            ["15.01.2024", "16.01.2024", "Stadtwerke", "Lastschrift", "Strom Januar", "-84,00", "EUR"],
            ["17.01.2024", "17.01.2024", "Kunde GmbH", "Gutschrift", "RE 2024-001", "2.380,00", "EUR"],
        ],
        delimiter=";",
        encoding="cp1252",
    )
    statement = parse(data)
    assert amounts(statement) == [Decimal("-84.00"), Decimal("2380.00")]
    assert statement.transactions[0].date == datetime.date(2024, 1, 15)
    assert statement.currency == "EUR"


def test_it_reads_a_headerless_export_with_two_dates_amount_and_running_balance():
    data = (
        b"2024-03-01,2024-03-02,-45.10,4954.90,OFFICE DEPOT\n"
        b"2024-03-02,2024-03-03,1200.00,6154.90,SQUARE DEPOSIT\n"
        b"2024-03-04,2024-03-04,-154.90,6000.00,COMCAST\n"
    )
    statement = parse(data)
    assert amounts(statement) == [Decimal("-45.10"), Decimal("1200.00"), Decimal("-154.90")]
    assert [t.balance for t in statement.transactions] == [
        Decimal("4954.90"),
        Decimal("6154.90"),
        Decimal("6000.00"),
    ]
    assert statement.transactions[1].description == "SQUARE DEPOSIT"


# 2. Indicator columns decide the sign ----------------------------------------------------------------


def test_it_signs_an_ing_netherlands_export_by_its_af_bij_column():
    data = csv_bytes(
        [
            [
                "Datum",
                "Naam / Omschrijving",
                "Rekening",
                "Tegenrekening",
                "Code",
                "Af Bij",
                "Bedrag (EUR)",
                "Mutatiesoort",
                "Mededelingen",
            ],
            [
                "20240115",
                "Albert Heijn 1234",
                "NL01INGB0001234567",
                "",
                "BA",
                "Af",
                "12,50",
                "Betaalautomaat",
                "Pasvolgnr: 001",
            ],
            [
                "20240116",
                "Klant BV",
                "NL01INGB0001234567",
                "NL02RABO0123456789",
                "GT",
                "Bij",
                "1.500,00",
                "Online bankieren",
                "Factuur 2024-7",
            ],
            [
                "20240117",
                "Verhuurder BV",
                "NL01INGB0001234567",
                "NL44ABNA0987654321",
                "IC",
                "Af",
                "950,00",
                "Incasso",
                "Huur januari",
            ],
        ]
    )
    statement = parse(data)
    assert amounts(statement) == [Decimal("-12.50"), Decimal("1500.00"), Decimal("-950.00")]
    assert statement.accounts == ("NL01INGB0001234567",)
    assert statement.transactions[1].counterparty == "Klant BV"
    assert "Factuur 2024-7" in statement.transactions[1].description


def test_it_signs_a_volksbank_export_by_its_soll_haben_column():
    data = csv_bytes(
        [
            [
                "Buchungstag",
                "Valuta",
                "Auftraggeber/Zahlungsempfänger",
                "Empfänger/Zahlungspflichtiger",
                "Konto-Nr.",
                "IBAN",
                "BLZ",
                "BIC",
                "Vorgang/Verwendungszweck",
                "Kundenreferenz",
                "Währung",
                "Umsatz",
                " ",
            ],
            [
                "02.01.2024",
                "02.01.2024",
                "Muster GmbH",
                "Lieferant AG",
                "",
                "DE44500105175407324931",
                "",
                "INGDDEFFXXX",
                "Überweisung Rechnung 88",
                "",
                "EUR",
                "1.234,56",
                "S",
            ],
            [
                "03.01.2024",
                "03.01.2024",
                "Muster GmbH",
                "Kunde KG",
                "",
                "DE02120300000000202051",
                "",
                "BYLADEM1001",
                "Gutschrift RE 12",
                "",
                "EUR",
                "3.000,00",
                "H",
            ],
        ],
        delimiter=";",
        encoding="cp1252",
    )
    statement = parse(data)
    assert amounts(statement) == [Decimal("-1234.56"), Decimal("3000.00")]


@pytest.mark.parametrize(
    ("header", "debit", "credit"),
    [("D/C", "D", "C"), ("D/K", "D", "K"), ("Dr/Cr", "Dr", "Cr"), ("Debit/Credit", "Debit", "Credit")],
)
def test_it_never_reads_an_indicator_column_as_a_credit_amount(header, debit, credit):
    data = csv_bytes(
        [
            ["Date", "Narrative", header, "Amount"],
            ["2024-02-01", "SUPPLIER", debit, "400.00"],
            ["2024-02-02", "CUSTOMER", credit, "900.00"],
            ["2024-02-03", "BANK FEE", debit, "5.00"],
        ]
    )
    assert amounts(parse(data)) == [Decimal("-400.00"), Decimal("900.00"), Decimal("-5.00")]


def test_it_recognises_an_iso_credit_debit_indicator_by_its_values():
    data = csv_bytes(
        [
            ["Booking Date", "Remittance Information", "Credit Debit Indicator", "Amount", "Currency"],
            ["2024-02-01", "INVOICE 17", "CRDT", "1000.00", "EUR"],
            ["2024-02-02", "RENT", "DBIT", "800.00", "EUR"],
        ]
    )
    assert amounts(parse(data)) == [Decimal("1000.00"), Decimal("-800.00")]


# 3. The amount column is chosen by its cells, and by the whole of its name ---------------------------


def test_it_takes_paypals_net_over_shipping_and_handling_amount():
    header = ["Date", "Time", "TimeZone", "Name", "Type", "Status", "Currency", "Gross", "Fee", "Net"]
    header += ["From Email Address", "Transaction ID", "Shipping and Handling Amount", "Insurance Amount"]
    header += ["Sales Tax", "Balance"]
    data = csv_bytes(
        [
            header,
            [
                "01/05/2024",
                "10:01:02",
                "PST",
                "Ann Buyer",
                "Website Payment",
                "Completed",
                "USD",
                "100.00",
                "-3.20",
                "96.80",
                "ann@example.com",
                "1AB23456CD789012E",
                "5.00",
                "0.00",
                "0.00",
                "1,096.80",
            ],
            [
                "01/06/2024",
                "11:00:00",
                "PST",
                "Bob Buyer",
                "Website Payment",
                "Completed",
                "USD",
                "50.00",
                "-1.75",
                "48.25",
                "bob@example.com",
                "2AB23456CD789012E",
                "0.00",
                "0.00",
                "0.00",
                "1,145.05",
            ],
            [
                "01/07/2024",
                "09:30:00",
                "PST",
                "",
                "General Withdrawal",
                "Completed",
                "USD",
                "-500.00",
                "0.00",
                "-500.00",
                "",
                "3AB23456CD789012E",
                "0.00",
                "0.00",
                "0.00",
                "645.05",
            ],
        ]
    )
    statement = parse(data)
    assert amounts(statement) == [Decimal("96.80"), Decimal("48.25"), Decimal("-500.00")]
    assert statement.transactions[-1].balance == Decimal("645.05")


def test_it_skips_a_yes_no_settled_column_and_reads_the_betrag():
    # DKB card export: the first column's long name mentions Umsatz and Saldo but holds Ja/Nein.
    data = csv_bytes(
        [
            [
                "Umsatz abgerechnet und nicht im Saldo enthalten",
                "Wertstellung",
                "Belegdatum",
                "Beschreibung",
                "Betrag (EUR)",
                "Ursprünglicher Betrag",
            ],
            ["Ja", "16.01.2024", "15.01.2024", "AMAZON EU", "-45,99", ""],
            ["Nein", "18.01.2024", "17.01.2024", "HOTEL PARIS", "-210,00", "-210,00 EUR"],
        ],
        delimiter=";",
        encoding="cp1252",
    )
    statement = parse(data)
    assert amounts(statement) == [Decimal("-45.99"), Decimal("-210.00")]
    assert [t.date for t in statement.transactions] == [
        datetime.date(2024, 1, 15),
        datetime.date(2024, 1, 17),
    ]


# 4. Unknown amount headers, record codes and summary rows --------------------------------------------


def test_it_finds_an_unknown_amount_header_by_its_running_balance_not_the_record_code():
    data = csv_bytes(
        [
            ["Date", "Transaction Code", "Narrative", "Movement", "Running Total"],
            ["01/02/2024", "005", "EFTPOS COFFEE", "-4.50", "995.50"],
            ["02/02/2024", "166", "SALARY ACME", "2,000.00", "2,995.50"],
            ["03/02/2024", "005", "EFTPOS FUEL", "-60.00", "2,935.50"],
        ]
    )
    statement = parse(data)
    assert amounts(statement) == [Decimal("-4.50"), Decimal("2000.00"), Decimal("-60.00")]
    assert statement.transactions[1].description == "SALARY ACME"


def test_it_never_takes_a_headerless_record_code_column_for_the_amount():
    rows = []
    balance = Decimal("1000.00")
    for day in range(1, 13):
        amount = Decimal("125.40") if day % 2 else Decimal("-37.15")
        balance += amount
        rows.append(f"2024-04-{day:02d},{'475' if day % 2 else '120'},{amount},CARD {day}")
    statement = parse("\n".join(rows).encode())
    assert amounts(statement)[:2] == [Decimal("125.40"), Decimal("-37.15")]
    assert "implausible_amounts" not in codes(statement)


def test_opening_closing_and_turnover_rows_are_balances_not_transactions():
    # mBank-style export: '#'-prefixed headers, PLN amounts, summary lines under the table.
    data = csv_bytes(
        [
            ["#Data operacji", "#Opis operacji", "#Rachunek", "#Kategoria", "#Kwota", "#Saldo po operacji"],
            ["2024-01-01", "Saldo początkowe", "", "", "", "1 000,00 PLN"],
            [
                "2024-01-03",
                "ZAKUP PRZY UŻYCIU KARTY BIEDRONKA",
                "Moje konto",
                "Jedzenie",
                "-52,30 PLN",
                "947,70 PLN",
            ],
            [
                "2024-01-05",
                "PRZELEW PRZYCHODZĄCY KLIENT SP ZOO",
                "Moje konto",
                "Wpływy",
                "2 500,00 PLN",
                "3 447,70 PLN",
            ],
            ["2024-01-31", "Obroty", "", "", "2 447,70 PLN", ""],
            ["2024-01-31", "Saldo końcowe", "", "", "", "3 447,70 PLN"],
        ],
        delimiter=";",
    )
    statement = parse(data)
    assert amounts(statement) == [Decimal("-52.30"), Decimal("2500.00")]
    assert statement.opening_balance == Decimal("1000.00")
    assert statement.closing_balance == Decimal("3447.70")
    assert statement.currency == "PLN"


def test_a_file_without_an_amount_column_is_refused_naming_its_columns():
    data = csv_bytes(
        [
            ["Date", "Description", "Reference"],
            ["2024-01-02", "STRIPE PAYOUT", "ST-1"],
            ["2024-01-03", "RENT", "R-2"],
        ]
    )
    with pytest.raises(StatementError) as error:
        parse(data)
    assert error.value.reason == "No amount column found; the columns are: Date, Description, Reference"


def test_amounts_that_look_like_account_numbers_are_flagged():
    data = csv_bytes(
        [
            ["Date", "Description", "Amount"],
            ["2024-01-02", "A", "12345678"],
            ["2024-01-03", "B", "23456789"],
            ["2024-01-04", "C", "34567890"],
        ]
    )
    statement = parse(data)
    (finding,) = [w for w in statement.warnings if w.code == "implausible_amounts"]
    assert "account numbers" in finding.message
    assert finding.evidence["examples"][0] == "12345678"


def test_an_unnamed_amount_wins_over_an_unnamed_reference_number_by_its_cents():
    data = csv_bytes(
        [
            ["Datum", "Referenz", "Text", "Wert"],
            ["02.01.2024", "884512", "Miete", "-900,00"],
            ["03.01.2024", "884513", "Kunde", "1.500,00"],
            ["04.01.2024", "884514", "Gebühr", "-4,90"],
        ],
        delimiter=";",
    )
    assert amounts(parse(data)) == [Decimal("-900.00"), Decimal("1500.00"), Decimal("-4.90")]


def test_a_total_line_in_the_date_column_of_a_short_file_is_left_out():
    data = b"Date,Description,Amount\n2024-01-01,A,5.00\n2024-01-02,B,-3.00\nTotal,,2.00\n"
    statement = parse(data)
    assert amounts(statement) == [Decimal("5.00"), Decimal("-3.00")]
