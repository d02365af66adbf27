"""CSV bank exports: find the header row under any preamble, map its columns, read every row.

Layouts vary by bank; what they share is a date column and either one signed amount column or
separate debit/credit columns. A file without a header row is read by inferring the columns.
"""

from __future__ import annotations

import csv
import datetime
import io
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from itertools import pairwise
from typing import Literal

from deals.parsing.statement import Finding, ParsedStatement, StatementError, Transaction
from deals.parsing.values import (
    DateReader,
    detect_currency,
    infer_decimal_comma,
    looks_like_amount,
    looks_like_date,
    parse_amount,
    parse_amount_or_none,
)

MAX_ROWS = 100_000
MAX_LINE_CHARS = 10_000
HEADER_SCAN_ROWS = 200
SNIFF_LINES = 300
DELIMITERS = (",", ";", "\t", "|")

Role = Literal[
    "date", "description", "amount", "debit", "credit", "balance", "indicator", "currency", "account"
]

# Normalised header names (lower case, no accents, punctuation as spaces) that name a role outright.
_EXACT_ROLES: dict[str, Role] = {
    "date": "date",
    "posted": "date",
    "datum": "date",
    "fecha": "date",
    "data": "date",
    "buchungstag": "date",
    "dr cr": "indicator",
    "cr dr": "indicator",
    "d c": "indicator",
    "c d": "indicator",
    "dc": "indicator",
    "debit credit": "indicator",
    "credit debit": "indicator",
    "debit or credit": "indicator",
    "credit or debit": "indicator",
    "type": "indicator",
    "transaction type": "indicator",
    "soll haben": "indicator",
    "sign": "indicator",
}
# Then the first keyword found decides; the order matters ("credit amount" is a credit column,
# "available balance" a balance column, "account name" an account column).
_KEYWORD_ROLES: tuple[tuple[tuple[str, ...], Role], ...] = (
    (("balance", "saldo", "solde", "kontostand"), "balance"),
    (("date", "datum", "fecha"), "date"),
    (("debit", "withdraw", "money out", "paid out", "outflow", "soll", "cargo", "uitgaven"), "debit"),
    (("credit", "deposit", "money in", "paid in", "inflow", "haben", "abono", "inkomsten"), "credit"),
    (("amount", "betrag", "montant", "bedrag", "importe", "importo", "umsatz", "value"), "amount"),
    (("currency", "ccy", "wahrung", "devise", "moneda", "divisa"), "currency"),
    (("account", "acct", "iban", "konto", "compte", "rekening"), "account"),
    (
        (
            "descr",
            "detail",
            "memo",
            "narrat",
            "payee",
            "merchant",
            "particular",
            "reference",
            "name",
            "text",
            "verwendungszweck",
            "beschreibung",
            "libelle",
            "omschrijving",
            "concepto",
            "counterparty",
            "beneficiary",
            "remark",
            "transaction",
        ),
        "description",
    ),
)
_DEBIT_MARKS = frozenset({"dr", "d", "debit", "db", "withdrawal", "s", "soll", "out", "-"})
_CREDIT_MARKS = frozenset({"cr", "c", "credit", "deposit", "h", "haben", "in", "+"})
_BALANCE_LINE = re.compile(
    r"^\s*(?:(?P<open>opening|beginning|starting|previous|start)\s+balance|balance\s+(?:brought\s+)?forward"
    r"|balance\s+b/?f|anfangssaldo|solde\s+initial"
    r"|(?P<close>ending|closing|end|new|final)\s+balance|balance\s+carried\s+forward|endsaldo|solde\s+final)\b",
    re.I,
)
_PERIOD_SPLIT = re.compile(r"\s*(?:\s-\s|–|—|\bto\b|\bthrough\b|\bbis\b|\bau\b)\s*", re.I)


def normalize_header(cell: str) -> str:
    """Lower case, accents dropped, bracketed notes ("Amount (USD)") and punctuation removed."""
    text = unicodedata.normalize("NFKD", cell)
    text = "".join(c for c in text if not unicodedata.combining(c)).lower()
    text = re.sub(r"\([^)]*\)|\[[^\]]*\]", " ", text)
    return " ".join(re.sub(r"[^a-z0-9]+", " ", text).split())


def _role_of(cell: str) -> Role | None:
    name = normalize_header(cell)
    if not name or len(name) > 40:
        return None
    if name in _EXACT_ROLES:
        return _EXACT_ROLES[name]
    if "bal" in name.split():  # "Running Bal.", "Avail Bal"
        return "balance"
    for keywords, role in _KEYWORD_ROLES:
        if any(keyword in name for keyword in keywords):
            return role
    return None


@dataclass(frozen=True)
class _Columns:
    date: int
    description: tuple[int, ...] = ()
    amount: int | None = None
    debit: int | None = None
    credit: int | None = None
    balance: int | None = None
    indicator: int | None = None
    currency: int | None = None
    account: int | None = None

    @property
    def money(self) -> tuple[int, ...]:
        return tuple(i for i in (self.amount, self.debit, self.credit, self.balance) if i is not None)


def _header_columns(row: Sequence[str]) -> _Columns | None:
    roles: dict[Role, list[int]] = {}
    for index, cell in enumerate(row):
        role = _role_of(cell)
        if role is not None:
            roles.setdefault(role, []).append(index)
    if "date" not in roles or not roles.keys() & {"amount", "debit", "credit"}:
        return None

    def first(role: Role) -> int | None:
        return roles[role][0] if role in roles else None

    amount = first("amount")
    debit, credit = first("debit"), first("credit")
    if amount is not None and debit is not None and credit is not None:
        amount = None  # separate debit/credit columns are the more explicit of the two
    if amount is None and debit is None and credit is None:  # pragma: no cover - excluded above
        return None
    return _Columns(
        date=roles["date"][0],
        description=tuple(roles.get("description", ())),
        amount=amount,
        debit=None if amount is not None else debit,
        credit=None if amount is not None else credit,
        balance=first("balance"),
        indicator=first("indicator") if amount is not None else None,
        currency=first("currency"),
        account=first("account"),
    )


def _cell(row: Sequence[str], index: int | None) -> str:
    if index is None or index >= len(row):
        return ""
    return row[index].strip()


def _find_header(rows: Sequence[Sequence[str]]) -> tuple[int, _Columns] | None:
    for index, row in enumerate(rows[:HEADER_SCAN_ROWS]):
        columns = _header_columns(row)
        if columns is None:
            continue
        # A preamble line such as "Statement date,Amount due" must not pass for the header:
        # the real one is followed by dated rows (or by nothing, for an empty statement).
        following = [r for r in rows[index + 1 : index + 12] if any(c.strip() for c in r)]
        if not following or any(looks_like_date(_cell(r, columns.date)) for r in following):
            return index, columns
    return None


def _read_rows(text: str, delimiter: str) -> list[list[str]]:
    try:
        return list(csv.reader(io.StringIO(text), delimiter=delimiter))
    except csv.Error as exc:
        raise StatementError(f"The CSV file is malformed: {exc}") from exc


def _modal_width(rows: Sequence[Sequence[str]]) -> tuple[int, int]:
    widths = Counter(len(r) for r in rows if sum(1 for c in r if c.strip()) >= 2)
    if not widths:
        return 0, 0
    width, count = max(widths.items(), key=lambda item: (item[1], item[0]))
    return width, count


def _choose_delimiter(text: str) -> tuple[str, bool]:
    """The delimiter, and whether a header row was found with it."""
    sample = "\n".join(text.splitlines()[:SNIFF_LINES])
    best: tuple[tuple[int, int, int], str] | None = None
    for delimiter in DELIMITERS:
        if delimiter not in sample:
            continue
        rows = _read_rows(sample, delimiter)
        found = _find_header(rows)
        width, count = _modal_width(rows)
        mapped = 0
        if found is not None:
            columns = found[1]
            mapped = len(columns.money) + len(columns.description) + 1
        score = (int(found is not None), mapped, count if width >= 2 else 0)
        if best is None or score > best[0]:
            best = (score, delimiter)
    if best is None:
        raise StatementError("Unsupported file format")
    return best[1], bool(best[0][0])


def _infer_columns(rows: Sequence[Sequence[str]]) -> _Columns | None:
    """Columns of a headerless export (e.g. `"01/15/2024","-12.00","*","","COFFEE"`)."""
    width, _ = _modal_width(rows)
    body = [r for r in rows if len(r) == width][:500]
    if width < 2 or not body:
        return None

    def share(index: int, test: Callable[[str], bool]) -> float:
        cells = [r[index].strip() for r in body]
        filled = [c for c in cells if c]
        if len(filled) < 0.8 * len(cells):
            return 0.0
        return sum(1 for c in filled if test(c)) / len(filled)

    date = next((i for i in range(width) if share(i, looks_like_date) >= 0.8), None)
    if date is None:
        return None
    numeric = [i for i in range(width) if i != date and share(i, looks_like_amount) >= 0.95]
    if not numeric:
        return None
    others = [i for i in range(width) if i != date and i not in numeric]
    description = max(others, key=lambda i: sum(len(r[i]) for r in body), default=None)
    balance = numeric[1] if len(numeric) > 1 and _is_running_balance(body, numeric[0], numeric[1]) else None
    return _Columns(
        date=date,
        amount=numeric[0],
        balance=balance,
        description=() if description is None else (description,),
    )


def _is_running_balance(rows: Sequence[Sequence[str]], amount: int, balance: int) -> bool:
    comma = infer_decimal_comma(r[amount] for r in rows)
    pairs = 0
    agree = 0
    try:
        values = [
            (parse_amount(r[amount], decimal_comma=comma), parse_amount(r[balance], decimal_comma=comma))
            for r in rows
        ]
    except ValueError:
        return False
    for (_, previous), (amt, current) in pairwise(values):
        if previous is None or amt is None or current is None:
            continue
        pairs += 1
        # Either order of the file: oldest first (prev + amt) or newest first (current - amt of prev).
        if previous + amt == current or current + amt == previous:
            agree += 1
    return pairs > 0 and agree >= 0.8 * pairs


@dataclass
class _Preamble:
    account: str | None = None
    currency: str | None = None
    opening: str | None = None
    closing: str | None = None
    period: tuple[str, str] | None = None


def _read_preamble(rows: Sequence[Sequence[str]]) -> _Preamble:
    preamble = _Preamble()
    for row in rows:
        cells = [c.strip() for c in row if c.strip()]
        if not cells:
            continue
        if len(cells) >= 2:
            label, value = cells[0], cells[1]
        elif ":" in cells[0]:
            label, _, value = cells[0].partition(":")
        else:
            continue
        name = normalize_header(label)
        value = value.strip()
        if not value:
            continue
        if "period" in name:
            parts = [p for p in _PERIOD_SPLIT.split(value) if p.strip()]
            if len(parts) == 2:
                preamble.period = (parts[0].strip(), parts[1].strip())
        elif match := _BALANCE_LINE.match(label):
            if match["close"] or any(word in name for word in ("carried", "endsaldo", "final")):
                preamble.closing = value
            else:
                preamble.opening = value
        elif any(k in name for k in ("currency", "ccy", "wahrung", "devise")):
            preamble.currency = value.upper()[:3]
        elif (
            any(k in name for k in ("account", "acct", "iban", "konto", "compte"))
            and preamble.account is None
        ):
            preamble.account = value[:64]
    return preamble


def _indicator_usable(rows: Sequence[Sequence[str]], index: int | None) -> bool:
    if index is None:
        return False
    marks = {_cell(r, index).lower() for r in rows} - {""}
    return bool(marks) and marks <= _DEBIT_MARKS | _CREDIT_MARKS


def parse_csv(text: str) -> ParsedStatement:
    """Parse a CSV bank export into a statement; raises StatementError with the reason."""
    lines = text.splitlines()
    if len(lines) > MAX_ROWS + HEADER_SCAN_ROWS:
        raise StatementError(f"The file has more than {MAX_ROWS:,} rows")
    if any(len(line) > MAX_LINE_CHARS for line in lines):
        raise StatementError(
            f"The file has a line longer than {MAX_LINE_CHARS:,} characters; it is not a bank statement"
        )
    delimiter, has_header = _choose_delimiter(text)
    rows = _read_rows(text, delimiter)
    if has_header:
        found = _find_header(rows)
        if found is None:  # pragma: no cover - the header was found in the first lines already
            raise StatementError("Could not find the column header row")
        header_index, columns = found
        preamble = _read_preamble(rows[:header_index])
        body = rows[header_index + 1 :]
    else:
        inferred = _infer_columns(rows)
        if inferred is None:
            raise StatementError(
                "Could not recognise the CSV layout: no header row with date and amount columns"
            )
        header_index, columns, preamble, body = -1, inferred, _Preamble(), rows
    return _read_body(body, columns, preamble, delimiter, first_line=header_index + 2)


def _read_body(
    rows: Sequence[Sequence[str]], columns: _Columns, preamble: _Preamble, delimiter: str, first_line: int
) -> ParsedStatement:
    money_cells = [_cell(r, i) for r in rows for i in columns.money]
    decimal_comma = infer_decimal_comma(money_cells, prefer_comma=delimiter == ";")
    period_cells = list(preamble.period or ())
    dates = DateReader([_cell(r, columns.date) for r in rows] + period_cells, prefer_dmy=decimal_comma)
    use_indicator = _indicator_usable(rows, columns.indicator)

    amounts = _AmountParser(decimal_comma)

    transactions: list[Transaction] = []
    opening = closing = None
    skipped = 0
    for line, row in enumerate(rows, start=first_line):
        if not any(c.strip() for c in row):
            continue
        date = dates.parse(_cell(row, columns.date))
        if date is None:
            skipped += 1  # footers, totals, "pending" lines
            continue
        description = _description(row, columns.description)
        amount = _row_amount(row, columns, use_indicator, amounts, line)
        balance = amounts.read(_cell(row, columns.balance), line)
        balance_line = _BALANCE_LINE.match(description)
        if balance_line:
            value = balance if balance is not None else amount
            if balance_line["close"] or "carried" in description.lower():
                closing = value
            elif opening is None:
                opening = value
            continue
        if amount is None:
            skipped += 1
            continue
        if len(transactions) >= MAX_ROWS:
            raise StatementError(f"The file has more than {MAX_ROWS:,} transactions")
        account = _cell(row, columns.account)[:64] or preamble.account
        transactions.append(Transaction(date, description[:500], amount, balance, account))
    if not transactions:
        raise StatementError("No transactions found in the file")
    # Files listed newest first are turned around: metrics read the balance after the last
    # transaction of each day, which needs chronological order within the day too.
    if transactions[0].date > transactions[-1].date:
        transactions.reverse()
    currency = _currency(rows, columns, preamble, money_cells)
    period_start, period_end = _period(preamble, dates)
    return ParsedStatement(
        format="csv",
        transactions=tuple(transactions),
        currency=currency,
        accounts=tuple(dict.fromkeys(t.account for t in transactions if t.account)),
        opening_balance=opening
        if opening is not None
        else parse_amount_or_none(preamble.opening, decimal_comma=decimal_comma),
        closing_balance=closing
        if closing is not None
        else parse_amount_or_none(preamble.closing, decimal_comma=decimal_comma),
        period_start=period_start,
        period_end=period_end,
        warnings=(
            Finding(
                "rows_ignored", f"{skipped} rows without a date or amount were left out", {"count": skipped}
            ),
        )
        if skipped
        else (),
    )


def _description(row: Sequence[str], indexes: tuple[int, ...]) -> str:
    parts = [_cell(row, i) for i in indexes]
    if len(parts) > 1:
        # A second description-like column that only says DEBIT/CREDIT (Chase's "Details") adds
        # nothing the sign of the amount does not already say.
        parts = [p for p in parts if p.lower() not in _DEBIT_MARKS | _CREDIT_MARKS] or parts
    # Quoted cells may span lines; a description is one line.
    return " ".join(" ".join(parts).split())


class _AmountParser:
    """Reads the amount cells of one file in its decimal style, naming the row when one is unreadable."""

    def __init__(self, decimal_comma: bool) -> None:
        self.decimal_comma = decimal_comma

    def read(self, raw: str, line: int) -> Decimal | None:
        try:
            return parse_amount(raw, decimal_comma=self.decimal_comma)
        except ValueError:
            raise StatementError(f"Row {line}: could not read the amount {raw[:40]!r}") from None


def _row_amount(
    row: Sequence[str], columns: _Columns, use_indicator: bool, amounts: _AmountParser, line: int
) -> Decimal | None:
    if columns.amount is not None:
        amount = amounts.read(_cell(row, columns.amount), line)
        if amount is not None and use_indicator:
            mark = _cell(row, columns.indicator).lower()
            if mark in _DEBIT_MARKS:
                amount = -abs(amount)
            elif mark in _CREDIT_MARKS:
                amount = abs(amount)
        return amount
    debit = amounts.read(_cell(row, columns.debit), line)
    credit = amounts.read(_cell(row, columns.credit), line)
    if debit is None and credit is None:
        return None
    # Some banks write debits as negative numbers in the debit column, some as positive.
    return abs(credit or Decimal(0)) - abs(debit or Decimal(0))


def _currency(
    rows: Sequence[Sequence[str]], columns: _Columns, preamble: _Preamble, money_cells: Sequence[str]
) -> str | None:
    if columns.currency is not None:
        codes = {_cell(r, columns.currency).upper() for r in rows} - {""}
        if len(codes) == 1:
            code = codes.pop()
            if re.fullmatch(r"[A-Z]{3}", code):
                return code
    if preamble.currency and re.fullmatch(r"[A-Z]{3}", preamble.currency):
        return preamble.currency
    for cell in money_cells[:500]:
        found = detect_currency(cell)
        if found:
            return found
    return None


def _period(preamble: _Preamble, dates: DateReader) -> tuple[datetime.date | None, datetime.date | None]:
    if preamble.period is None:
        return None, None
    start, end = (dates.parse(p) for p in preamble.period)
    if start is None or end is None or start > end:
        return None, None
    return start, end
