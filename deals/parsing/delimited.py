"""CSV bank exports: find the header row under any preamble, choose the columns, read every row.

Layouts vary by bank; what they share is a date column and either one signed amount column, an
amount plus a debit/credit marker, or separate debit/credit columns. Columns are chosen by their
cells (deals.parsing.columns); a file without a header row is read by inferring them. A file
that does not support a figure is refused in plain words rather than read into wrong numbers.

One module although long: it changes for one reason, a CSV layout it does not read yet, and the
steps (header search, preamble, body, summary rows, ordering) share the reading state of one
file; which column is which is apart, in deals.parsing.columns.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import groupby, pairwise

from deals.parsing.cards import as_card_statement, is_card_export, issuer_signs, thanks_for_payments
from deals.parsing.columns import (
    Columns,
    NoAmountColumn,
    choose_columns,
    header_date_columns,
    infer_headerless_columns,
    profile_columns,
)
from deals.parsing.headers import (
    CREDIT_MARKS,
    DEBIT_MARKS,
    header_roles,
    is_position_header,
    normalize_header,
)
from deals.parsing.statement import (
    MAX_TRANSACTIONS,
    AccountType,
    Finding,
    ParsedStatement,
    SkippedRow,
    StatementError,
    Transaction,
)
from deals.parsing.values import (
    DateReader,
    detect_currency,
    infer_decimal_comma,
    looks_like_amount,
    looks_like_date,
    parse_amount,
    parse_amount_or_none,
)

MAX_LINE_CHARS = 10_000
HEADER_SCAN_ROWS = 200
SNIFF_LINES = 300
DELIMITERS = (",", ";", "\t", "|")
# A few unreadable rows are left out and listed; more than this refuses the file, because a
# statement missing many rows gives wrong totals however carefully the rest is read.
MAX_SKIPPED_ROWS = 20
MAX_SKIPPED_SHARE = Decimal("0.10")
# Currencies of countries that write month first (03/04/2024 is March 4th).
MONTH_FIRST_CURRENCIES = frozenset({"USD", "CAD"})

BALANCE_HISTORY = (
    "This looks like a daily balance history, not a list of transactions. "
    "Export the account's transactions instead."
)
NUMBERS_ONLY = (
    "The file has only dates and numbers, without a header or descriptions: it cannot be told "
    "whether the numbers are transactions or balances. Export the account's transactions instead."
)
POSITIONS = (
    "This looks like a list of investment positions (holdings), not a list of transactions. "
    "Export the account's transactions instead."
)

# Summary lines, matched on the normalised text (lower case, no accents, punctuation as spaces).
_OPENING = re.compile(
    r"^(?:(?:opening|beginning|starting|previous|start|initial)\s+balance|balance\s+(?:brought\s+)?forward"
    r"|balance\s+b\s?f\b|anfangssaldo|alter\s+kontostand|kontostand\s+alt|saldo\s+(?:inicial|anterior"
    r"|iniziale|precedente|poczatkowe|vorher|di\s+apertura|de\s+apertura|otwarcia|begin)"
    r"|solde\s+(?:initial|precedent|d\s?ouverture|de\s+debut)|ancien\s+solde|beginsaldo|begin\s+saldo"
    r"|startsaldo|eroffnungssaldo|alkusaldo|primosaldo|pocatecni\s+zustatek|inn?gaende\s+saldo"
    r"|likutis\s+pradziai|pradinis\s+likutis|sakuma\s+atlikums|algsaldo|alguse\s+saldo)"
)
_CLOSING = re.compile(
    r"^(?:(?:ending|closing|end|new|final)\s+balance|balance\s+carried\s+forward|balance\s+c\s?f\b"
    r"|endsaldo|neuer\s+kontostand|kontostand\s+(?:neu|vom|am|per)\b|saldo\s+(?:final|finale|actual"
    r"|koncowe|di\s+chiusura|de\s+cierre|zamkniecia|eind|al|per)\b|solde\s+(?:final|de\s+cloture|au)\b"
    r"|nouveau\s+solde|eindsaldo|eind\s+saldo|schlusssaldo|abschlusssaldo|loppusaldo|lopusaldo|ultimosaldo"
    r"|konecny\s+zustatek|utgaende\s+saldo|likutis\s+pabaigai|galutinis\s+likutis|beigu\s+atlikums"
    r"|loppsaldo|slutsaldo)"
)
# A bare "Umsatz" or "Omzet" (sales) is also how a shop describes a deposit, so those words count
# only in compounds; the Baltic words for a statement's turnover are not used for anything else.
_TURNOVER = re.compile(
    r"^(?:sub\s?)?(?:totals?|turnover|summe|umsatzsumme|gesamtumsatz|umsatze\s+gesamt|totaal|totale"
    r"|obroty|obraty|apyvarta|apgrozijums|kaive)(?:\s+(?:debits?|credits?|withdrawals?"
    r"|deposits?|turnover|amount|umsatz|soll|haben|for\s.*|of\s.*|in\s.*))*$"
)
# A line that says only "Balance" or "Saldo": the opening balance above the transactions, the
# closing one below them.
_BARE_BALANCE = re.compile(r"^(?:balance|saldo|solde|kontostand|likutis|atlikums)$")
# Cheap test before normalising a cell: only cells with one of these can be a summary line.
_SUMMARY_HINT = re.compile(
    r"bal|saldo|solde|stand|total|summe|umsatz|turnover|obrot|obrat|zustatek|likut|apyvart|atlikum"
    r"|apgroz|kaive|käive",
    re.I,
)
_PERIOD_FROM = frozenset({"von", "from", "start date", "zeitraum von", "du", "desde", "van"})
_PERIOD_TO = frozenset({"bis", "to", "end date", "zeitraum bis", "au", "hasta", "tot"})
_PERIOD_SPLIT = re.compile(r"\s*(?:\s-\s|–|—|\bto\b|\bthrough\b|\bbis\b|\bau\b)\s*", re.I)
_SAVINGS = re.compile(r"\b(?:savings|sparkonto|sparbuch|tagesgeld|livret|spaarrekening|ahorro|risparmio)\b")
# A cell that was meant to be a date (digits and separators) but is not a valid one.
_DATEISH = re.compile(r"^\s*\d{1,4}[-/.: ]\d{1,2}[-/.: ]\d{1,4}")


def _summary_kind(text: str) -> str | None:
    if not _SUMMARY_HINT.search(text):
        return None
    name = normalize_header(text)
    if _OPENING.match(name):
        return "opening"
    if _CLOSING.match(name):
        return "closing"
    if _TURNOVER.match(name):
        return "turnover"
    if _BARE_BALANCE.match(name):
        return "balance"
    return None


def _cell(row: Sequence[str], index: int | None) -> str:
    if index is None or index >= len(row):
        return ""
    return row[index].strip()


def _read_rows(text: str, delimiter: str) -> tuple[list[list[str]], list[int]]:
    """The parsed rows of the file and the 1-based line on which each starts."""
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    rows: list[list[str]] = []
    lines: list[int] = []
    try:
        previous = 0
        for row in reader:
            rows.append(row)
            lines.append(previous + 1)
            previous = reader.line_num
    except csv.Error as exc:
        raise StatementError(f"The CSV file is malformed: {exc}") from exc
    return rows, lines


def _find_header(rows: Sequence[Sequence[str]]) -> int | None:
    """The first row naming a date column and at least one other known column, followed by dates."""
    fallback: int | None = None
    for index, row in enumerate(rows[:HEADER_SCAN_ROWS]):
        dates = header_date_columns(row)
        if not dates:
            continue
        hinted = sum(1 for cell in row if header_roles(cell))
        if hinted < 2:
            continue
        # A preamble line such as "Statement date,Amount due" must not pass for the header:
        # the real one is followed by dated rows (or by nothing, for an empty statement).
        following = [r for r in rows[index + 1 : index + 12] if any(c.strip() for c in r)]
        if not following:
            return index
        if any(looks_like_date(_cell(following[0], i)) for i in dates):
            return index
        # Dated rows further down may belong to a later header: a preamble line such as
        # "Buchungsart:;Alle Buchungen" names two known words too. Such a row is the header only
        # when no row below it is followed straight away by dates.
        if fallback is None and any(looks_like_date(_cell(r, i)) for r in following for i in dates):
            fallback = index
    return fallback


def _modal_width(rows: Sequence[Sequence[str]]) -> tuple[int, int]:
    widths = Counter(len(r) for r in rows if sum(1 for c in r if c.strip()) >= 2)
    if not widths:
        return 0, 0
    return max(widths.items(), key=lambda item: (item[1], item[0]))


def _choose_delimiter(text: str) -> tuple[str, int | None]:
    """The delimiter, and the index of the header row found with it (None for none)."""
    # Split as the csv module does (on "\n" only), so that row indexes of the sample are the
    # file's: str.splitlines also splits on form feeds and other separators.
    sample = "\n".join(text.split("\n")[:SNIFF_LINES])
    best: tuple[tuple[int, int, int, int], str, int | None] | None = None
    for delimiter in DELIMITERS:
        if delimiter not in sample:
            continue
        rows, _ = _read_rows(sample, delimiter)
        found = _find_header(rows)
        width, count = _modal_width(rows)
        mapped = 0 if found is None else sum(1 for cell in rows[found] if header_roles(cell))
        # Then the delimiter giving most rows of one width, then the widest: a decimal comma
        # splits every amount of a ';' file in two, which gives equally regular but narrower rows.
        score = (int(found is not None), mapped, count if width >= 2 else 0, width)
        if best is None or score > best[0]:
            best = (score, delimiter, found)
    if best is None:
        raise StatementError("Unsupported file format")
    return best[1], best[2]


@dataclass
class _Preamble:
    rows: Sequence[Sequence[str]] = ()
    account: str | None = None
    currency: str | None = None
    opening: str | None = None
    closing: str | None = None
    period: tuple[str, str] | None = None


def _read_preamble(rows: Sequence[Sequence[str]]) -> _Preamble:
    """Account, currency, period and the balances printed above the table."""
    preamble = _Preamble(rows=rows)
    start: str | None = None
    pending: str | None = None  # a balance label alone on its line, its figure on the next
    for row in rows:
        cells = [c.strip() for c in row if c.strip()]
        if not cells:
            continue
        if pending is not None:
            # "#Saldo początkowe;" then "21 000,00 PLN;": some banks print the label and its value
            # on two lines. Only a figure completes the label.
            label, pending = pending, None
            if looks_like_amount(cells[0]):
                cells = [label, *cells]
        label_only = len(cells) == 1 and not cells[0].partition(":")[2].strip()
        if label_only and _summary_kind(cells[0]) in {"opening", "closing"}:
            pending = cells[0]
            continue
        if len(cells) >= 2:
            label, values = cells[0], cells[1:]
        elif ":" in cells[0]:
            label, _, value = cells[0].partition(":")
            values = [value]
        else:
            continue
        label = label.strip().rstrip(":")
        name = normalize_header(label)
        values = [v.strip() for v in values if v.strip()]
        if not values:
            continue
        value = values[0]
        kind = _summary_kind(label)
        if name in _PERIOD_FROM:
            start = value
        elif name in _PERIOD_TO and start is not None:
            # "Von:;01.01.2024" then "Bis:;31.01.2024" on two lines (DKB and others).
            preamble.period = (start, value)
        elif "period" in name or "zeitraum" in name:
            parts = [p for p in _PERIOD_SPLIT.split(" ".join(values)) if p.strip()]
            if len(parts) == 2:
                preamble.period = (parts[0].strip(), parts[1].strip())
        elif kind in {"opening", "closing"}:
            # "Kontostand vom 31.12.2013:;1.234,56 EUR": the figure is the last cell that is one.
            figure = next((v for v in reversed(values) if looks_like_amount(v)), value)
            if kind == "opening":
                preamble.opening = figure
            else:
                preamble.closing = figure
        elif any(k in name for k in ("currency", "ccy", "wahrung", "devise")):
            preamble.currency = value.upper()[:3]
        elif (
            any(k in name for k in ("account", "acct", "iban", "konto", "compte", "rekening"))
            and preamble.account is None
        ):
            preamble.account = value[:64]
    return preamble


def parse_csv(text: str) -> ParsedStatement:
    """Parse a CSV bank export into a statement; raises StatementError with the reason."""
    lines = text.splitlines()
    if len(lines) > MAX_TRANSACTIONS + HEADER_SCAN_ROWS:
        raise StatementError(f"The file has more than {MAX_TRANSACTIONS:,} rows")
    if any(len(line) > MAX_LINE_CHARS for line in lines):
        raise StatementError(
            f"The file has a line longer than {MAX_LINE_CHARS:,} characters; it is not a bank statement"
        )
    delimiter, header_index = _choose_delimiter(text)
    rows, row_lines = _read_rows(text, delimiter)
    if any(is_position_header(r) for r in rows[:HEADER_SCAN_ROWS]) and not _names_money(
        rows[header_index] if header_index is not None else ()
    ):
        raise StatementError(POSITIONS)
    if header_index is not None:
        header = rows[header_index]
        body = rows[header_index + 1 :]
        try:
            columns = choose_columns(header, [r for r in body if any(c.strip() for c in r)])
        except NoAmountColumn as missing:
            if missing.kind == "balance_history":
                raise StatementError(BALANCE_HISTORY) from None
            names = ", ".join(missing.headers)
            what = "date" if missing.kind == "no_date" else "amount"
            raise StatementError(f"No {what} column found; the columns are: {names}") from None
        preamble = _read_preamble(rows[:header_index])
        body_lines = row_lines[header_index + 1 :]
    else:
        width, _ = _modal_width(rows)
        inferred = infer_headerless_columns(rows, width)
        if inferred is not None and not inferred.description and inferred.balance is None:
            # "2024-01-01,1000.00" and nothing else: the numbers may as well be daily balances.
            raise StatementError(NUMBERS_ONLY)
        if inferred is None:
            first = next((r for r in rows if any(c.strip() for c in r)), [])
            shown = ", ".join(c.strip() for c in first if c.strip())[:200]
            raise StatementError(
                "Could not recognise the CSV layout: no header row with date and amount columns"
                + (f" (the first row is: {shown})" if shown else "")
            )
        header, columns, preamble, body, body_lines = [], inferred, _Preamble(), rows, row_lines
    account_type = _account_type(header, preamble, columns)
    return _read_body(body, body_lines, columns, preamble, delimiter, account_type=account_type)


def _account_type(header: Sequence[str], preamble: _Preamble, columns: Columns) -> AccountType:
    """What the header and preamble say the account is (the rows may still reveal a card)."""
    if is_card_export(header, preamble.rows, columns.balance is not None):
        return "credit_card"
    if is_position_header(header):
        # A brokerage account's history (buys, sells, dividends) is not a bank account's.
        return "unknown"
    if any(_SAVINGS.search(normalize_header(" ".join(row))) for row in preamble.rows):
        return "savings"
    return "checking"


def _names_money(header: Sequence[str]) -> bool:
    return any({"amount", "debit", "credit"} & set(header_roles(cell)) for cell in header)


@dataclass
class _Reading:
    """What reading the rows of the body collects, besides the transactions."""

    skipped: list[SkippedRow] = field(default_factory=list)
    ignored: int = 0
    opening: Decimal | None = None
    closing: Decimal | None = None


def _read_body(
    rows: Sequence[Sequence[str]],
    lines: Sequence[int],
    columns: Columns,
    preamble: _Preamble,
    delimiter: str,
    *,
    account_type: AccountType,
) -> ParsedStatement:
    money_cells = [_cell(r, i) for r in rows for i in columns.money]
    decimal_comma = infer_decimal_comma(money_cells, prefer_comma=delimiter == ";")
    period_cells = list(preamble.period or ())
    currency = _currency(rows, columns, preamble, money_cells)
    # When nothing else settles 03/04 (both orders valid and sorted), the money says where the
    # file comes from: decimal commas or a currency of a day-first country mean day first.
    day_first = decimal_comma or (currency is not None and currency not in MONTH_FIRST_CURRENCIES)
    dates = DateReader([_cell(r, columns.date) for r in rows] + period_cells, prefer_dmy=day_first)
    marks = _indicator_marks(rows, columns.indicator)
    summaries = _summary_rows(rows, columns, dates)

    transactions: list[Transaction] = []
    raw_amounts: list[str] = []
    reading = _Reading()
    for number, (line, row) in enumerate(zip(lines, rows, strict=True)):
        if not any(c.strip() for c in row):
            continue
        summary = summaries.get(number)
        if summary is not None:
            # Opening, closing and turnover lines state balances and totals; none is a transaction.
            if summary == "balance":
                summary = "closing" if transactions else "opening"
            _read_summary(row, columns, summary, marks, decimal_comma, reading)
            continue
        raw_date = _cell(row, columns.date)
        date = dates.parse(raw_date)
        if date is None:
            if _DATEISH.match(raw_date) and any(_cell(row, i) for i in columns.money):
                reading.skipped.append(SkippedRow(line, f"could not read the date {raw_date[:40]!r}"))
            else:
                reading.ignored += 1  # footers, totals, "pending" lines
            continue
        try:
            amount = _row_amount(row, columns, marks, decimal_comma)
            balance = _read_amount(_cell(row, columns.balance), decimal_comma, "balance")
        except _BadCell as bad:
            reading.skipped.append(SkippedRow(line, str(bad)))
            continue
        if amount is None:
            reading.ignored += 1
            continue
        if len(transactions) >= MAX_TRANSACTIONS:
            raise StatementError(f"The file has more than {MAX_TRANSACTIONS:,} transactions")
        transactions.append(
            Transaction(
                date=date,
                description=_description(row, columns.description)[:500],
                amount=amount,
                balance=balance,
                account=_cell(row, columns.account)[:64] or preamble.account,
                counterparty=(_cell(row, columns.counterparty) or _cell(row, columns.counterparty_account))[
                    :200
                ]
                or None,
                row=line,
            )
        )
        if columns.amount is not None:
            raw_amounts.append(_cell(row, columns.amount))
    _refuse_when_many_skipped(reading.skipped, len(transactions))
    if not transactions:
        raise StatementError("No transactions found in the file")
    transactions = _chronological(transactions)
    opening, closing = reading.opening, reading.closing
    if opening is None:
        opening = parse_amount_or_none(preamble.opening, decimal_comma=decimal_comma)
    if closing is None:
        closing = parse_amount_or_none(preamble.closing, decimal_comma=decimal_comma)
    if account_type == "credit_card" or thanks_for_payments(transactions):
        account_type = "credit_card"
        flip = columns.amount is not None and marks is None and issuer_signs(transactions)
        transactions = as_card_statement(transactions, flip=flip)
        opening = closing = None  # what a card file calls its balance is the amount owed
    period_start, period_end = dates.period(*preamble.period) if preamble.period else (None, None)
    return ParsedStatement(
        format="csv",
        transactions=tuple(transactions),
        currency=currency,
        accounts=tuple(dict.fromkeys(t.account for t in transactions if t.account)),
        opening_balance=opening,
        closing_balance=closing,
        period_start=period_start,
        period_end=period_end,
        account_type=account_type,
        rows_skipped=tuple(reading.skipped),
        warnings=tuple(_findings(reading, raw_amounts, columns)),
    )


def _summary_rows(rows: Sequence[Sequence[str]], columns: Columns, dates: DateReader) -> dict[int, str]:
    """Index of each opening, closing, balance or turnover line, and which it is: found by its
    words, then by the record code it shares with a line found by its words."""
    width = max(map(len, rows), default=0)
    candidates = [i for i in range(width) if i not in columns.money]
    found: dict[int, str] = {}
    for number, row in enumerate(rows):
        dated = dates.parse(_cell(row, columns.date)) is not None
        kinds = (_summary_kind(_cell(row, i)) for i in candidates if not dated or i != columns.date)
        kind = next(filter(None, kinds), None)
        if kind is not None:
            found[number] = kind
    if found:
        found.update(_by_record_code(rows, columns, dates, found))
    return found


def _by_record_code(
    rows: Sequence[Sequence[str]], columns: Columns, dates: DateReader, found: dict[int, str]
) -> dict[int, str]:
    """Lines whose record-type code (Swedbank's 10/82/86...) is that of a summary line found by
    its words, though their own words are in no language known here.

    A record-type column holds a short code on every dated line, each code of a summary line
    standing for one kind of line; a code is trusted only when no more unrecognised lines carry it
    than recognised ones (a currency or a transaction code is on most lines, not a few)."""
    dated = [n for n, row in enumerate(rows) if dates.parse(_cell(row, columns.date)) is not None]
    others = [n for n in dated if n not in found]
    if len(others) < 3:
        return {}
    taken = {columns.date, *columns.money, *columns.description}
    width = max(map(len, rows), default=0)
    for index in (i for i in range(width) if i not in taken):
        codes = {n: _cell(rows[n], index) for n in dated}
        if not all(0 < len(code) <= 4 for code in codes.values()):
            continue
        kinds: dict[str, str] = {}
        if any(kinds.setdefault(codes[n], kind) != kind for n, kind in found.items() if n in codes):
            continue  # one code on two kinds of line: not a record type
        recognised = Counter(codes[n] for n in found if n in codes)
        unrecognised = Counter(codes[n] for n in others)
        transaction_code = unrecognised.most_common(1)[0][0]
        trusted = {
            code for code in kinds if code != transaction_code and unrecognised[code] <= recognised[code]
        }
        if trusted:
            return {n: kinds[codes[n]] for n in others if codes[n] in trusted}
    return {}


def _read_summary(
    row: Sequence[str],
    columns: Columns,
    kind: str,
    marks: dict[str, int] | None,
    decimal_comma: bool,
    reading: _Reading,
) -> None:
    if kind == "turnover":
        return
    balance = parse_amount_or_none(_cell(row, columns.balance), decimal_comma=decimal_comma)
    amount = parse_amount_or_none(_cell(row, columns.amount), decimal_comma=decimal_comma)
    value = balance if balance is not None else amount
    if value is None:
        # The figure may sit beside its label rather than under a money column
        # (";;#Saldo końcowe;29 820,99 PLN;"): the last cell of the row that is an amount.
        figures = [
            c
            for i, c in enumerate(row)
            if i != columns.date and looks_like_amount(c) and not looks_like_date(c)
        ]
        value = parse_amount_or_none(figures[-1].strip(), decimal_comma=decimal_comma) if figures else None
    if value is None:
        return
    if balance is None:
        # "Likutis pabaigai;3032,05;K": the marker says whether the balance is in credit.
        value = _marked(value, row, columns, marks)
    if kind == "closing":
        reading.closing = value
    elif reading.opening is None:
        reading.opening = value


def _chronological(transactions: list[Transaction]) -> list[Transaction]:
    """Oldest first. A file listed newest first is turned around before the stable sort, so the
    order within a day stays the order in which the bank booked the lines."""
    ascending = sum(1 for a, b in pairwise(transactions) if a.date < b.date)
    descending = sum(1 for a, b in pairwise(transactions) if a.date > b.date)
    if descending > ascending:
        transactions = transactions[::-1]
    ordered = sorted(transactions, key=lambda t: t.date)
    return _order_days_by_balance(ordered)


def _chained(day: Sequence[Transaction]) -> int:
    """How many consecutive lines of one day agree with `balance before + amount = balance`."""
    return sum(
        1
        for a, b in pairwise(day)
        if a.balance is not None and b.balance is not None and a.balance + b.amount == b.balance
    )


def _order_days_by_balance(transactions: list[Transaction]) -> list[Transaction]:
    """Some banks list days newest first but the lines of a day oldest first (or the reverse):
    where a running balance says the other order of a day's lines is the booked one, use it."""
    if not any(t.balance is not None for t in transactions):
        return transactions
    result: list[Transaction] = []
    for _, same_day in groupby(transactions, key=lambda t: t.date):
        day = list(same_day)
        if len(day) > 1:
            anchor = result[-1:]  # the previous day's last line gives the day's opening balance
            if _chained(anchor + day[::-1]) > _chained(anchor + day):
                day = day[::-1]
        result.extend(day)
    return result


def _refuse_when_many_skipped(skipped: Sequence[SkippedRow], read: int) -> None:
    total = read + len(skipped)
    if len(skipped) <= MAX_SKIPPED_ROWS and len(skipped) <= MAX_SKIPPED_SHARE * total:
        return
    first = skipped[0]
    if len(skipped) == 1:
        raise StatementError(f"Row {first.row}: {first.reason}")
    raise StatementError(
        f"{len(skipped)} of {total} rows could not be read (the first is row {first.row}: {first.reason}); "
        "the statement would be incomplete"
    )


def _findings(reading: _Reading, raw_amounts: Sequence[str], columns: Columns) -> list[Finding]:
    findings: list[Finding] = []
    if reading.skipped:
        shown = ", ".join(f"row {r.row} ({r.reason})" for r in reading.skipped[:5])
        more = f" and {len(reading.skipped) - 5} more" if len(reading.skipped) > 5 else ""
        findings.append(
            Finding(
                "rows_skipped",
                f"{len(reading.skipped)} rows could not be read and were left out: {shown}{more}",
                {"rows": [dataclasses.asdict(r) for r in reading.skipped]},
            )
        )
    if reading.ignored:
        findings.append(
            Finding(
                "rows_ignored",
                f"{reading.ignored} rows without a date or amount were left out",
                {"count": reading.ignored},
            )
        )
    if columns.direction_assumed:
        findings.append(
            Finding(
                "debit_credit_order_assumed",
                "The file has no header and no running balance: of its two amount columns the first "
                "was read as money out and the second as money in, the order banks export them in. "
                "Check the totals against the bank's statement.",
                {"debit_column": columns.debit, "credit_column": columns.credit},
            )
        )
    implausible = _implausible_amounts(raw_amounts, columns)
    if implausible is not None:
        findings.append(implausible)
    return findings


def _implausible_amounts(raw_amounts: Sequence[str], columns: Columns) -> Finding | None:
    if not raw_amounts:
        return None
    (profile,) = profile_columns([""], [[cell] for cell in raw_amounts], 1)
    reasons = []
    if profile.share(profile.dates) >= 0.2:
        reasons.append("dates")
    if profile.share(profile.long_integers) >= 0.2:
        reasons.append("account numbers")
    if profile.code_like and "account numbers" not in reasons:
        reasons.append("codes")
    if not reasons:
        return None
    return Finding(
        "implausible_amounts",
        f"The amounts look like {' or '.join(reasons)}; check that the right column was read",
        {"column": columns.amount, "examples": list(dict.fromkeys(raw_amounts))[:5]},
    )


def _description(row: Sequence[str], indexes: tuple[int, ...]) -> str:
    parts = [_cell(row, i) for i in indexes]
    if len(parts) > 1:
        # A second description-like column that only says DEBIT/CREDIT (Chase's "Details") adds
        # nothing the sign of the amount does not already say.
        parts = [p for p in parts if p.lower() not in DEBIT_MARKS | CREDIT_MARKS] or parts
    # Quoted cells may span lines; a description is one line.
    return " ".join(" ".join(p for p in parts if p).split())


class _BadCell(ValueError):
    """A cell that should hold an amount holds something else; the row is skipped."""


def _read_amount(raw: str, decimal_comma: bool, what: str) -> Decimal | None:
    try:
        return parse_amount(raw, decimal_comma=decimal_comma)
    except ValueError:
        raise _BadCell(f"could not read the {what} {raw[:40]!r}") from None


def _indicator_marks(rows: Sequence[Sequence[str]], index: int | None) -> dict[str, int] | None:
    """The sign each mark of the indicator column stands for, or None without such a column."""
    if index is None:
        return None
    marks = {_cell(r, index).lower().rstrip(".") for r in rows} - {""}
    if not marks <= DEBIT_MARKS | CREDIT_MARKS:
        return None
    return {mark: -1 if mark in DEBIT_MARKS else 1 for mark in marks}


def _marked(value: Decimal, row: Sequence[str], columns: Columns, marks: dict[str, int] | None) -> Decimal:
    """`value` with the sign the row's indicator mark stands for, when it has one."""
    sign = marks.get(_cell(row, columns.indicator).lower().rstrip(".")) if marks else None
    return value if sign is None else abs(value) * sign


def _row_amount(
    row: Sequence[str], columns: Columns, marks: dict[str, int] | None, decimal_comma: bool
) -> Decimal | None:
    if columns.amount is not None:
        amount = _read_amount(_cell(row, columns.amount), decimal_comma, "amount")
        # The marker decides, whatever sign the bank also printed on the amount.
        return None if amount is None else _marked(amount, row, columns, marks)
    debit = _read_amount(_cell(row, columns.debit), decimal_comma, "amount")
    credit = _read_amount(_cell(row, columns.credit), decimal_comma, "amount")
    if debit is None and credit is None:
        return None
    # Some banks write debits as negative numbers in the debit column, some as positive.
    return abs(credit or Decimal(0)) - abs(debit or Decimal(0))


def _currency(
    rows: Sequence[Sequence[str]], columns: Columns, preamble: _Preamble, money_cells: Sequence[str]
) -> str | None:
    if columns.currency is not None:
        codes = {_cell(r, columns.currency).upper() for r in rows} - {""}
        if len(codes) == 1:
            code = codes.pop()
            if re.fullmatch(r"[A-Z]{3}", code):
                return code
    if preamble.currency and re.fullmatch(r"[A-Z]{3}", preamble.currency):
        return preamble.currency
    return next(filter(None, map(detect_currency, money_cells[:500])), None)
