"""Balances a CSV export states, read so that the statement can be reconciled: running-balance
columns under names in several languages, balance columns of headerless files in either order,
and opening/closing balances printed around the table."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest

from deals.parsing import ParsedStatement, extract_document, parse_document
from deals.parsing.columns import is_running_balance
from deals.parsing.extract import decode_text
from deals.reconciliation import reconcile
from tests.deals.statement_files import csv_bytes

AMOUNTS = ("104.23", "1003.71", "-1483.49", "292.09", "-186.89", "2960.32", "-742.53", "-310.69")
OPENING = Decimal("3200.00")


def parse(data: bytes) -> ParsedStatement:
    return parse_document(extract_document(data))


def ledger(*, comma: bool = False) -> list[tuple[str, str, str]]:
    """(day, amount, balance after) oldest first, the balance following the amounts."""
    rows = []
    balance = OPENING
    for i, raw in enumerate(AMOUNTS):
        balance += Decimal(raw)
        day = (datetime.date(2024, 2, 1) + datetime.timedelta(days=2 * i)).strftime("%d/%m/%Y")
        rows.append((day, raw, str(balance)))
    if comma:
        rows = [(day, amount.replace(".", ","), balance.replace(".", ",")) for day, amount, balance in rows]
    return rows


def closing() -> Decimal:
    return OPENING + sum(Decimal(a) for a in AMOUNTS)


@pytest.mark.parametrize(
    "name",
    ["Disponible", "Saldo disponibile", "Saldo contabile", "Saldo po operacji", "Kontostand", "Solde"],
)
def test_it_reads_the_running_balance_under_its_name_in_other_languages(name: str):
    rows = [["Fecha", "Concepto", "Importe", "Divisa", name, "Divisa"]]
    rows += [
        [day, f"ITEM {i}", amount, "EUR", balance, "EUR"]
        for i, (day, amount, balance) in enumerate(ledger(comma=True))
    ]
    statement = parse(csv_bytes(rows, delimiter=";"))
    assert [t.balance for t in statement.transactions] == [
        Decimal(b.replace(",", ".")) for _, _, b in ledger(comma=True)
    ]
    assert statement.currency == "EUR"
    assert reconcile(statement).status == "passed"


def test_it_fails_reconciliation_when_the_named_running_balance_disagrees():
    rows = [["Fecha", "Concepto", "Importe", "Disponible"]]
    body = ledger(comma=True)
    day, amount, balance = body[3]
    body[3] = (day, amount, balance[:-1] + ("1" if balance[-1] != "1" else "2"))
    rows += [[d, f"ITEM {i}", a, b] for i, (d, a, b) in enumerate(body)]
    outcome = reconcile(parse(csv_bytes(rows, delimiter=";")))
    assert outcome.status == "failed"


def test_it_infers_the_balance_column_of_a_headerless_newest_first_file_with_plus_signs():
    def signed(raw: str) -> str:
        return raw if raw.startswith("-") else f"+{raw}"

    rows = [
        [day, signed(amount), f"PAYEE {i}", signed(balance)]
        for i, (day, amount, balance) in enumerate(ledger())
    ]
    statement = parse(csv_bytes(rows[::-1]))
    assert [t.amount for t in statement.transactions] == [Decimal(a) for a in AMOUNTS]
    assert statement.transactions[-1].balance == closing()
    assert reconcile(statement).status == "passed"


def test_it_infers_the_balance_column_of_a_headerless_oldest_first_file():
    rows = [[day, amount, balance, f"PAYEE {i}"] for i, (day, amount, balance) in enumerate(ledger())]
    statement = parse(csv_bytes(rows))
    assert statement.transactions[-1].balance == closing()
    assert reconcile(statement).status == "passed"


def test_it_tells_a_running_balance_from_a_column_that_only_looks_like_one():
    rows = [[day, amount, balance] for day, amount, balance in ledger()]
    assert is_running_balance(rows, 1, 2)
    assert is_running_balance(rows[::-1], 1, 2)
    # The same balances against amounts in another order do not follow them in either direction.
    shuffled = [[day, rows[(i + 3) % len(rows)][1], balance] for i, (day, _, balance) in enumerate(rows)]
    assert not is_running_balance(shuffled, 1, 2)
    assert not is_running_balance(shuffled[::-1], 1, 2)


def test_it_reads_balances_whose_figure_is_on_the_line_below_or_beside_the_label():
    text = "\r\n".join(
        [
            "Bank Polski S.A.;",
            "",
            "#Waluta;",
            "PLN;",
            "",
            "#Saldo początkowe;",
            "3 200,00 PLN;",
            "",
            "#Data operacji;#Opis operacji;#Rachunek;#Kategoria;#Kwota;",
            *[
                f"{datetime.datetime.strptime(d, '%d/%m/%Y').date().isoformat()};WPŁATA {i};konto;Wpływy;{a} PLN;"
                for i, (d, a, _) in enumerate(ledger(comma=True))
            ],
            "",
            f";;#Saldo końcowe;{str(closing()).replace('.', ',')} PLN;",
            "",
        ]
    )
    statement = parse(text.encode("cp1250"))
    assert statement.opening_balance == OPENING
    assert statement.closing_balance == closing()
    assert len(statement.transactions) == len(AMOUNTS)
    assert reconcile(statement).status == "passed"


@pytest.mark.parametrize(
    ("opening_label", "closing_label"),
    [
        ("Saldo początkowe", "Saldo końcowe"),
        ("Anfangssaldo", "Endsaldo"),
        ("Eröffnungssaldo", "Schlußsaldo"),
        ("Saldo inicial", "Saldo final"),
        ("Saldo de apertura", "Saldo de cierre"),
        ("Solde initial", "Solde final"),
        ("Ancien solde", "Nouveau solde"),
        ("Saldo iniziale", "Saldo finale"),
        ("Beginsaldo", "Eindsaldo"),
        ("Ingående saldo", "Utgående saldo"),
        ("Alkusaldo", "Loppusaldo"),
    ],
)
def test_it_reads_opening_and_closing_balances_labelled_in_other_languages(
    opening_label: str, closing_label: str
):
    rows = [["Date", "Description", "Amount"]]
    rows += [[d, f"ITEM {i}", a] for i, (d, a, _) in enumerate(ledger())]
    data = csv_bytes(
        rows, preamble=[[f"{opening_label}:", str(OPENING)], [f"{closing_label}:", str(closing())], []]
    )
    statement = parse(data)
    assert (statement.opening_balance, statement.closing_balance) == (OPENING, closing())
    assert reconcile(statement).status == "passed"


def test_it_decodes_a_central_european_export_in_its_own_code_page():
    polish = "Data;Opis;Kwota\r\n2024-06-05;Saldo początkowe, opłata, zażółć;-1,00\r\n".encode("cp1250")
    text, encoding = decode_text(polish)
    assert encoding == "cp1250"
    assert "początkowe, opłata, zażółć" in text


def test_it_keeps_decoding_a_western_european_export_as_cp1252():
    western = "Datum;Empfänger;Betrag\r\n05.06.2024;Müller Straße, café, niño;-1,00\r\n".encode("cp1252")
    text, encoding = decode_text(western)
    assert encoding == "cp1252"
    assert "Müller Straße, café, niño" in text
