"""PDF statements with a text layer: read transaction lines such as
`01/15/2024  ACH DEPOSIT STRIPE  1,250.00  5,430.10` (date, description, amount, balance).

Text extraction loses the column an amount sat in, so an unsigned amount gets its sign from the
running balance when the line has one, else from the section heading, else from its wording.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass
from decimal import Decimal

from deals.parsing.statement import ParsedStatement, StatementError, Transaction
from deals.parsing.values import DateReader, detect_currency, infer_decimal_comma, parse_amount_or_none

MAX_TRANSACTIONS = 100_000
_MONTH = r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)[a-z]*\.?"
_DATE = (
    r"\d{4}-\d{2}-\d{2}"
    r"|\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}"
    rf"|\d{{1,2}}[ -]{_MONTH}[ -]\d{{2,4}}"
    rf"|{_MONTH} \d{{1,2}},? \d{{4}}"
)
_SHORT_DATE = rf"\d{{1,2}}/\d{{1,2}}|\d{{1,2}} {_MONTH}|{_MONTH} \d{{1,2}}"
# An amount always has two decimals in a statement; that tells it apart from a check or store number.
# No space as a thousands separator here: it would glue a check number to the amount after it.
_AMOUNT = r"(?:[-+−(]\s?)?(?:[$€£]\s?)?\d{1,3}(?:[,.']?\d{3})*[.,]\d{2}\)?(?:\s?(?:CR|DR|-))?"
_LINE = re.compile(
    rf"^(?P<date>{_DATE}|{_SHORT_DATE})\s+(?:(?P<desc>.*?)\s+)?(?P<amount>{_AMOUNT})(?:\s+(?P<balance>{_AMOUNT}))?$",
    re.I,
)
_FULL_DATE = re.compile(rf"(?<![\d/.-])(?:{_DATE})(?![\d/])", re.I)
_BALANCE_WORDS = re.compile(
    r"\b(?P<open>(?:opening|beginning|starting|previous)\s+balance|balance\s+(?:brought\s+)?forward)"
    r"|\b(?P<close>(?:ending|closing|new)\s+balance)",
    re.I,
)
_TRAILING_AMOUNT = re.compile(rf"(?P<amount>{_AMOUNT})\s*$", re.I)
_CREDIT_SECTION = re.compile(r"^\s*(?:deposits?|credits?|additions|other credits|deposits and)\b", re.I)
_DEBIT_SECTION = re.compile(
    r"^\s*(?:withdrawals?|debits?|checks?(?: paid)?|cheques?|fees|payments|other debits"
    r"|electronic withdrawals|atm (?:&|and) debit)\b",
    re.I,
)
_CREDIT_WORDS = re.compile(
    r"\b(?:deposit|credit|refund|interest paid|reversal|transfer from|payment received)\b", re.I
)
_PERIOD = re.compile(
    rf"period\b\D{{0,20}}?(?P<start>{_DATE})\s*(?:-|–|to|through|thru)\s*(?P<end>{_DATE})", re.I
)
_CURRENCY_CODE = re.compile(r"\b(?:currency|ccy)\s*:?\s*([A-Z]{3})\b")


@dataclass(frozen=True)
class _Line:
    date_text: str
    description: str
    amount_text: str
    balance_text: str | None
    sign_hint: int  # +1 / -1 from the section heading above the line, 0 when none


def _explicit_sign(raw: str) -> int:
    text = raw.strip().upper()
    if text.startswith(("-", "−", "(")) or text.endswith(("-", "DR", ")")):
        return -1
    if text.startswith("+") or text.endswith("CR"):
        return 1
    return 0


def parse_pdf(text: str) -> ParsedStatement:
    """Parse the text of a PDF statement; raises StatementError with the reason."""
    lines: list[_Line] = []
    opening_text: str | None = None
    closing_text: str | None = None
    section = 0
    for raw_line in text.splitlines():
        line = " ".join(raw_line.split())
        if not line or len(line) > 500:
            continue
        balance_words = _BALANCE_WORDS.search(line)
        if balance_words:
            # "Beginning balance ... 4,180.10" is a figure, not a transaction, even when dated.
            trailing = _TRAILING_AMOUNT.search(line)
            if trailing:
                if balance_words["open"] and opening_text is None:
                    opening_text = trailing["amount"]
                elif balance_words["close"]:
                    closing_text = trailing["amount"]
            continue
        match = _LINE.match(line)
        if match is None:
            if _CREDIT_SECTION.match(line):
                section = 1
            elif _DEBIT_SECTION.match(line):
                section = -1
            continue
        lines.append(_Line(match["date"], match["desc"] or "", match["amount"], match["balance"], section))
        if len(lines) > MAX_TRANSACTIONS:
            raise StatementError(f"The file has more than {MAX_TRANSACTIONS:,} transactions")
    if not lines:
        raise StatementError("No transactions found in the file")

    money = [ln.amount_text for ln in lines] + [ln.balance_text for ln in lines if ln.balance_text]
    decimal_comma = infer_decimal_comma(money)
    full_dates = [m.group(0) for m in _FULL_DATE.finditer(text)]
    dates = DateReader([ln.date_text for ln in lines] + full_dates, prefer_dmy=decimal_comma)
    latest = max((d for d in map(dates.parse, full_dates) if d is not None), default=None)

    def amount(raw: str | None) -> Decimal | None:
        return parse_amount_or_none(raw, decimal_comma=decimal_comma)

    opening = amount(opening_text)
    previous_balance = opening
    transactions: list[Transaction] = []
    for ln in lines:
        day = dates.parse(ln.date_text) or _short_date(ln.date_text, dates, latest)
        value = amount(ln.amount_text)
        if day is None or value is None:
            continue
        balance = amount(ln.balance_text)
        value = _signed(abs(value), _explicit_sign(ln.amount_text), ln, previous_balance, balance)
        if balance is not None:
            previous_balance = balance
        elif previous_balance is not None:
            previous_balance += value
        transactions.append(Transaction(day, ln.description[:500], value, balance))
    if not transactions:
        raise StatementError("No transactions found in the file")
    if transactions[0].date > transactions[-1].date:
        transactions.reverse()
    code = _CURRENCY_CODE.search(text)
    period = _PERIOD.search(text)
    period_start = dates.parse(period["start"]) if period else None
    period_end = dates.parse(period["end"]) if period else None
    if period_start is None or period_end is None or period_start > period_end:
        period_start = period_end = None
    return ParsedStatement(
        format="pdf",
        transactions=tuple(transactions),
        currency=code[1] if code else next(filter(None, map(detect_currency, money)), None),
        opening_balance=opening,
        closing_balance=amount(closing_text),
        period_start=period_start,
        period_end=period_end,
    )


def _signed(
    magnitude: Decimal, explicit: int, line: _Line, previous: Decimal | None, balance: Decimal | None
) -> Decimal:
    if explicit:
        return magnitude * explicit
    if previous is not None and balance is not None:
        if previous + magnitude == balance:
            return magnitude
        if previous - magnitude == balance:
            return -magnitude
    if line.sign_hint:
        return magnitude * line.sign_hint
    return magnitude if _CREDIT_WORDS.search(line.description) else -magnitude


def _short_date(raw: str, dates: DateReader, latest: datetime.date | None) -> datetime.date | None:
    """A date printed without its year ("01/15", "Jan 15") takes the statement's year.

    The year is the one that puts the date on or before the latest full date in the document
    (the statement end), so a December line on a January statement lands in the prior year.
    """
    if latest is None:
        return None
    for year in (latest.year, latest.year - 1):
        with_year = f"{raw}/{year}" if "/" in raw else f"{raw} {year}"
        day = dates.parse(with_year)
        if day is not None and day <= latest:
            return day
    return None
