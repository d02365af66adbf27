"""Opening, closing and turnover lines inside the table: balances and totals, never transactions.

They are recognised by their words in the languages of common exports, and by the record code
they share with a line recognised by its words.
"""

from __future__ import annotations

from decimal import Decimal

from deals.parsing import ParsedStatement, extract_document, parse_document
from tests.deals.statement_files import csv_bytes

HEADER = ["Sąskaitos Nr.", "Eilutės tipas", "Data", "Gavėjas", "Paaiškinimai", "Suma", "Valiuta", "D/K"]
ACCOUNT = "LT127300010123456789"


def parse(data: bytes) -> ParsedStatement:
    return parse_document(extract_document(data))


def amounts(statement: ParsedStatement) -> list[Decimal]:
    return [t.amount for t in statement.transactions]


def swedbank(
    opening: str, turnover: str, closing: str, *, closing_mark: str = "K", credit_turnover: str = ""
) -> bytes:
    rows = [
        [ACCOUNT, "10", "2024-08-01", "", opening, "2500,00", "EUR", "K"],
        [ACCOUNT, "20", "2024-08-01", "SWISH BETALNING", "Sąskaita 72677", "2316,79", "EUR", "K"],
        [ACCOUNT, "20", "2024-08-04", "HYRA LOKAL", "Sąskaita 94090", "85,86", "EUR", "D"],
        [ACCOUNT, "20", "2024-08-05", "CIRCLE K", "Sąskaita 24537", "144,25", "EUR", "D"],
        [ACCOUNT, "20", "2024-08-08", "ICA", "Sąskaita 52731", "5000,00", "EUR", "D"],
        [ACCOUNT, "82", "2024-08-28", "", turnover, "5230,11", "EUR", "D"],
        [ACCOUNT, "82", "2024-08-28", "", credit_turnover or turnover, "2316,79", "EUR", "K"],
        [ACCOUNT, "86", "2024-08-28", "", closing, "413,32", "EUR", closing_mark],
    ]
    return csv_bytes([HEADER, *rows], delimiter=";")


def test_lithuanian_opening_turnover_and_closing_lines_are_balances_not_transactions():
    statement = parse(swedbank("Likutis pradžiai", "Apyvarta", "Likutis pabaigai", closing_mark="D"))
    assert amounts(statement) == [
        Decimal("2316.79"),
        Decimal("-85.86"),
        Decimal("-144.25"),
        Decimal("-5000.00"),
    ]
    assert statement.opening_balance == Decimal("2500.00")
    # The D mark of the closing line says the account is overdrawn.
    assert statement.closing_balance == Decimal("-413.32")
    assert statement.accounts == (ACCOUNT,)
    assert statement.currency == "EUR"


def test_a_summary_line_without_known_words_is_known_by_its_record_code():
    # The credit turnover line says only "Oborot" (words the parser does not know), but carries
    # the record code 82 of the debit turnover line, "Apyvarta", and no transaction carries 82.
    statement = parse(swedbank("Likutis pradžiai", "Apyvarta", "Likutis pabaigai", credit_turnover="Oborot"))
    assert len(statement.transactions) == 4
    assert sum(amounts(statement)) == Decimal("-2913.32")
    assert statement.closing_balance == Decimal("413.32")


def test_record_codes_shared_with_transactions_do_not_hide_them():
    # Here the type column says "20" on every line, summary or not: only the words decide.
    data = swedbank("Likutis pradžiai", "Apyvarta", "Likutis pabaigai").replace(b";10;", b";20;")
    statement = parse(data.replace(b";82;", b";20;").replace(b";86;", b";20;"))
    assert len(statement.transactions) == 4
    assert statement.opening_balance == Decimal("2500.00")


def test_a_shop_describing_a_deposit_as_sales_keeps_the_deposit():
    data = csv_bytes(
        [
            ["Datum", "Omschrijving", "Bedrag"],
            ["02-01-2024", "Huur", "-850,00"],
            ["15-01-2024", "Omzet", "1.500,25"],
            ["16-01-2024", "Umsatz", "99,00"],
        ],
        delimiter=";",
    )
    assert amounts(parse(data)) == [Decimal("-850.00"), Decimal("1500.25"), Decimal("99.00")]


def test_a_swiss_closing_balance_above_the_table_is_read():
    data = csv_bytes(
        [
            ["Buchungsdatum", "Belastung", "Gutschrift", "Saldo", "Beschreibung1"],
            ["2024-01-05", "-1'910.41", "", "9'463.53", "Stadtwerke Strom"],
            ["2024-01-10", "", "1'207.98", "10'671.51", "Überweisung Rechnung"],
        ],
        delimiter=";",
        preamble=[["Anfangssaldo:", "11373.94"], ["Schlusssaldo:", "10671.51"], []],
    )
    statement = parse(data)
    assert amounts(statement) == [Decimal("-1910.41"), Decimal("1207.98")]
    assert statement.opening_balance == Decimal("11373.94")
    assert statement.closing_balance == Decimal("10671.51")
