"""Valid exports that must not be refused: non-English headers, unusual dates, UTF-16 text."""

from __future__ import annotations

import datetime
from decimal import Decimal

from deals.parsing import ParsedStatement, extract_document, parse_document
from tests.deals.statement_files import csv_bytes


def parse(data: bytes) -> ParsedStatement:
    return parse_document(extract_document(data))


def amounts(statement: ParsedStatement) -> list[Decimal]:
    return [t.amount for t in statement.transactions]


def test_it_reads_a_french_export_with_debit_and_credit_columns():
    data = csv_bytes(
        [
            ["Date opération", "Libellé", "Débit", "Crédit"],
            ["05/02/2024", "PRLV SEPA EDF", "-76,20", ""],
            ["06/02/2024", "VIR SEPA RECU CLIENT DUPONT", "", "1 850,00"],
        ],
        delimiter=";",
        encoding="cp1252",
    )
    statement = parse(data)
    assert amounts(statement) == [Decimal("-76.20"), Decimal("1850.00")]
    assert statement.transactions[0].date == datetime.date(2024, 2, 5)
    assert statement.transactions[0].description == "PRLV SEPA EDF"


def test_it_reads_a_french_montant_column():
    data = csv_bytes(
        [
            ["Date", "Libellé", "Montant(EUROS)"],
            ["12/03/2024", "CB CARREFOUR", "-45,10"],
            ["14/03/2024", "VIR RECU", "300,00"],
        ],
        delimiter=";",
    )
    assert amounts(parse(data)) == [Decimal("-45.10"), Decimal("300.00")]


def test_it_reads_an_italian_export_with_accounting_and_value_dates():
    data = csv_bytes(
        [
            ["Data contabile", "Data valuta", "Descrizione", "Importo", "Divisa"],
            ["01/03/2024", "29/02/2024", "PAGAMENTO POS ESSELUNGA", "-32,15", "EUR"],
            ["04/03/2024", "04/03/2024", "BONIFICO A VOSTRO FAVORE", "1.200,00", "EUR"],
        ],
        delimiter=";",
    )
    statement = parse(data)
    assert amounts(statement) == [Decimal("-32.15"), Decimal("1200.00")]
    assert statement.transactions[0].date == datetime.date(2024, 3, 1)
    assert statement.currency == "EUR"


def test_it_reads_a_spanish_export():
    data = csv_bytes(
        [
            ["Fecha", "Fecha valor", "Concepto", "Importe", "Saldo"],
            ["02/01/2024", "02/01/2024", "RECIBO TELEFONICA", "-45,00", "955,00"],
            ["03/01/2024", "03/01/2024", "TRANSFERENCIA DE CLIENTE", "500,00", "1.455,00"],
        ],
        delimiter=";",
    )
    statement = parse(data)
    assert amounts(statement) == [Decimal("-45.00"), Decimal("500.00")]
    assert statement.transactions[1].balance == Decimal("1455.00")


def test_it_reads_a_rabobank_export_with_its_interest_date_and_counterparty():
    header = ["IBAN/BBAN", "Munt", "BIC", "Volgnr", "Datum", "Rentedatum", "Bedrag", "Saldo na trn"]
    header += ["Tegenrekening IBAN/BBAN", "Naam tegenpartij", "Omschrijving-1"]
    data = csv_bytes(
        [
            header,
            [
                "NL11RABO0123456789",
                "EUR",
                "RABONL2U",
                "000000000000007001",
                "2024-01-02",
                "2024-01-02",
                "-25,00",
                "+975,00",
                "NL22INGB0001111111",
                "Bol.com",
                "Bestelling 123",
            ],
            [
                "NL11RABO0123456789",
                "EUR",
                "RABONL2U",
                "000000000000007002",
                "2024-01-03",
                "2024-01-04",
                "+1.000,00",
                "+1.975,00",
                "NL33ABNA0222222222",
                "Klant BV",
                "Factuur 9",
            ],
        ]
    )
    statement = parse(data)
    assert amounts(statement) == [Decimal("-25.00"), Decimal("1000.00")]
    assert statement.accounts == ("NL11RABO0123456789",)
    assert statement.transactions[0].counterparty == "Bol.com"
    assert statement.transactions[1].balance == Decimal("1975.00")
    assert statement.currency == "EUR"


def test_it_reads_polish_and_czech_amount_headers():
    polish = csv_bytes(
        [["Data", "Opis", "Suma"], ["2024-01-02", "Zakup", "-12,00"], ["2024-01-03", "Wpłata", "50,00"]],
        delimiter=";",
    )
    czech = csv_bytes(
        [["Datum", "Popis", "Částka"], ["02.01.2024", "Nákup", "-12,00"], ["03.01.2024", "Příjem", "50,00"]],
        delimiter=";",
    )
    assert amounts(parse(polish)) == [Decimal("-12.00"), Decimal("50.00")]
    assert amounts(parse(czech)) == [Decimal("-12.00"), Decimal("50.00")]


def test_it_reads_a_short_desc_header():
    data = csv_bytes(
        [["date", "desc", "amount"], ["2024-05-01", "coffee", "-3.20"], ["2024-05-02", "sale", "40.00"]]
    )
    statement = parse(data)
    assert [t.description for t in statement.transactions] == ["coffee", "sale"]


def test_it_reads_dates_written_with_colons():
    data = csv_bytes(
        [["Date", "Description", "Amount"], ["2012:03:01", "A", "1.00"], ["2012:03:02", "B", "-2.00"]]
    )
    assert [t.date for t in parse(data).transactions] == [
        datetime.date(2012, 3, 1),
        datetime.date(2012, 3, 2),
    ]


def _unicode_text() -> str:
    rows = [
        ["Buchungstag", "Verwendungszweck", "Betrag"],
        ["15.01.2024", "Überweisung Miete", "-1.234,56"],
        ["16.01.2024", "Gutschrift Kunde Müller", "2.000,00"],
    ]
    return "".join("\t".join(row) + "\r\n" for row in rows)


def test_it_reads_excel_unicode_text_utf16_with_a_byte_order_mark():
    doc = extract_document(_unicode_text().encode("utf-16"))
    assert doc.format == "csv"
    statement = parse_document(doc)
    assert amounts(statement) == [Decimal("-1234.56"), Decimal("2000.00")]
    assert statement.transactions[0].description == "Überweisung Miete"


def test_it_reads_utf16_without_a_byte_order_mark_in_either_byte_order():
    for encoding in ("utf-16-le", "utf-16-be"):
        doc = extract_document(_unicode_text().encode(encoding))
        assert doc.encoding == encoding
        assert amounts(parse_document(doc)) == [Decimal("-1234.56"), Decimal("2000.00")]


def test_a_preamble_line_naming_two_known_words_is_not_taken_for_the_header():
    # PostFinance: "Buchungsart:;Alle Buchungen" above the real header; Gutschrift/Lastschrift
    # columns, the Lastschrift already negative; newest first.
    data = (
        "Datum von:;01.02.2024\r\n"
        "Buchungsart:;Alle Buchungen\r\n"
        "Konto:;CH5109000000401234567\r\n"
        "Währung:;CHF\r\n"
        "\r\n"
        "Buchungsdatum;Avisierungstext;Gutschrift in CHF;Lastschrift in CHF;Valuta;Saldo in CHF\r\n"
        "10.02.2024;Gutschrift Kunde Meier GmbH;240.54;;10.02.2024;5868.76\r\n"
        "06.02.2024;REWE Markt GmbH;;-86.93;06.02.2024;5628.22\r\n"
        "06.02.2024;Bareinzahlung Filiale;1094.19;;06.02.2024;5715.15\r\n"
    ).encode("cp1252")
    statement = parse(data)
    assert sorted(amounts(statement)) == [Decimal("-86.93"), Decimal("240.54"), Decimal("1094.19")]
    assert statement.transactions[-1].description == "Gutschrift Kunde Meier GmbH"
    assert statement.accounts == ("CH5109000000401234567",)
