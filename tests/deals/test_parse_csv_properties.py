"""Properties of the CSV reader: nothing crashes it, and generated ledgers read back exactly."""

from __future__ import annotations

import datetime
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from deals.parsing import ParsedStatement, StatementError, parse_csv
from deals.parsing.extract import extract_document as extract_unguarded

_HEADER_WORDS = [
    "Buchungstag",
    "Valuta",
    "Wertstellung",
    "Betrag",
    "Umsatz",
    "Soll/Haben",
    "Suma",
    "Importo",
    "Bedrag",
    "Af Bij",
    "Débit",
    "Crédit",
    "Montant",
    "Libellé",
    "Gegenkonto",
    "Card Member",
    "Saldo",
    "Symbol",
    "Quantity",
    "Date",
    "Amount",
    "Balance",
    "D/C",
    "",
]
_CELLS = st.one_of(
    st.sampled_from(_HEADER_WORDS),
    st.sampled_from(
        ["S", "H", "D", "C", "Af", "Bij", "CRDT", "Ja", "Nein", "Anfangssaldo", "Total", "Obroty"]
    ),
    st.sampled_from(["31.12.2013", "2012:03:01", "2024-02-30", "01/13/2024", "20240115", "15-Jan-24"]),
    st.builds(
        "{}{:,}{}".format,
        st.sampled_from(["", "-", "("]),
        st.integers(-(10**12), 10**12),
        st.sampled_from(["", ",50", ".5", ")"]),
    ),
    st.text(max_size=10),
)


def outcome(data: bytes) -> ParsedStatement | str:
    """The statement or the refusal's reason; any other exception fails the test."""
    try:
        return parse_csv(extract_unguarded(data).text)
    except StatementError as error:
        reason = error.reason
    assert reason.strip()
    return reason


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.lists(_CELLS, min_size=1, max_size=7), min_size=1, max_size=15),
    st.sampled_from([",", ";", "\t", "|"]),
    st.sampled_from(["utf-8", "utf-16", "utf-16-le", "cp1252"]),
)
def test_random_csv_like_text_in_any_encoding_only_ever_raises_statement_error(rows, delimiter, encoding):
    text = "\r\n".join(delimiter.join(row) for row in rows)
    try:
        data = text.encode(encoding)
    except UnicodeEncodeError:
        data = text.encode("utf-8")
    if data.strip():
        outcome(data)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=1024))
def test_random_bytes_only_ever_raise_statement_error(data: bytes):
    if data.strip():
        outcome(data)


_LAYOUTS = {
    "english": (["Date", "Description", "Amount", "Balance"], ",", "%m/%d/%Y", False),
    "german": (["Buchungstag", "Valuta", "Verwendungszweck", "Betrag", "Saldo"], ";", "%d.%m.%Y", True),
    "dutch": (["Datum", "Omschrijving", "Bedrag", "Saldo na trn"], ",", "%Y-%m-%d", True),
    "italian": (["Data contabile", "Descrizione", "Importo", "Saldo"], ";", "%d/%m/%Y", True),
}


def _money(value: Decimal, comma: bool) -> str:
    text = f"{value:,.2f}"
    return text.replace(",", "_").replace(".", ",").replace("_", ".") if comma else text


@settings(max_examples=60, deadline=None)
@given(
    st.sampled_from(sorted(_LAYOUTS)),
    st.lists(st.integers(-500_000, 500_000).filter(bool), min_size=1, max_size=40),
)
def test_generated_ledgers_in_any_layout_read_back_exactly(layout, cents):
    header, delimiter, date_format, comma = _LAYOUTS[layout]
    lines = [delimiter.join(header)]
    balance = Decimal("1000.00")
    expected = []
    for n, cent in enumerate(cents):
        amount = Decimal(cent) / 100
        balance += amount
        expected.append(amount)
        day = (datetime.date(2024, 1, 1) + datetime.timedelta(days=n)).strftime(date_format)
        cells = [day]
        if "Valuta" in header:
            cells.append(day)
        cells += [f"ITEM {n}", _money(amount, comma), _money(balance, comma)]
        lines.append(delimiter.join(f'"{c}"' for c in cells))
    statement = outcome("\r\n".join(lines).encode())
    assert not isinstance(statement, str), statement
    assert [t.amount for t in statement.transactions] == expected
    assert statement.transactions[-1].balance == balance
    assert not [w for w in statement.warnings if w.code == "implausible_amounts"]
