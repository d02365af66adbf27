"""PDF statements with a text layer: read transaction lines such as
`01/15/2024  ACH DEPOSIT STRIPE  1,250.00  5,430.10` (date, description, amount, balance).

Statements mix transaction tables with tables that are not transactions (account summary, daily
ending balance, service charge summary); the section headings tell them apart. Text extraction
loses the column an amount sat in, so an unsigned amount gets its sign from the running balance
when the line has one, else from the section heading, else from its wording.

One module although long: it changes for one reason, a PDF statement layout it does not read
yet; the line patterns, section headings and sign rules are tuned together against the same
sample statements (tests/deals, tests/corpus).
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Literal

from deals.parsing.statement import (
    MAX_TRANSACTIONS,
    AccountBalances,
    AccountType,
    Finding,
    ParsedStatement,
    SkippedRow,
    StatementError,
    Transaction,
)
from deals.parsing.values import DateReader, detect_currency, infer_decimal_comma, parse_amount_or_none

# Unreadable transaction lines are skipped and listed; when they outnumber the readable ones
# (and are more than a stray few) the text layer is too damaged to trust.
MAX_SKIPPED = 3
_AmountReader = Callable[[str | None], Decimal | None]
_MONTH = r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)[a-z]*\.?"
_DATE = (
    r"\d{4}-\d{2}-\d{2}"
    r"|\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}"
    rf"|\d{{1,2}}[ -]{_MONTH}[ -]\d{{2,4}}"
    rf"|{_MONTH} \d{{1,2}},? \d{{4}}"
)
_SHORT_DATE = rf"\d{{1,2}}/\d{{1,2}}|\d{{1,2}} {_MONTH}|{_MONTH} \d{{1,2}}"
_ANY_DATE = rf"(?:{_DATE}|{_SHORT_DATE})"
# An amount always has two decimals in a statement; that tells it apart from a check or store number.
# No space as a thousands separator here: it would glue a check number to the amount after it.
_AMOUNT = r"(?:[-+−(]\s?)?(?:[$€£]\s?)?\d{1,3}(?:[,.']?\d{3})*[.,]\d{2}\)?(?:\s?(?:CR|DR|-|\+))?"
_LINE = re.compile(
    rf"^(?P<date>{_ANY_DATE})\s+(?:(?P<desc>.*?)\s+)??(?P<amount>{_AMOUNT})(?:\s+(?P<balance>{_AMOUNT}))?$",
    re.I,
)
# Check tables: "1234 01/15 250.00", "1234 ^ 01/15 OFFICE RENT 250.00", several per line, or
# date first ("01/15 1234 * 250.00"). A masked number ("XXXX") is still a check.
_CHECK_NUMBER = r"(?:\d{1,8}|X{2,8})"
_CHECK_LINE = re.compile(
    rf"^(?P<number>{_CHECK_NUMBER})\s*[\^*]?\s+(?P<date>{_ANY_DATE})\s+(?:(?P<desc>.*?)\s+)??"
    rf"(?P<amount>{_AMOUNT})(?:\s+(?P<balance>{_AMOUNT}))?$",
    re.I,
)
# Check tables whose description column sits between the number and the date paid:
# "1234 ^ Electronic check Ace Supplies 07/14 1,471.99".
_CHECK_DESCRIBED = re.compile(
    rf"^(?P<number>{_CHECK_NUMBER})\s*[\^*]?\s+(?P<desc>[^\d\s].*?)\s+(?P<date>{_ANY_DATE})\s+"
    rf"(?P<amount>{_AMOUNT})(?:\s+(?P<balance>{_AMOUNT}))?$",
    re.I,
)
_CHECK_ENTRY = (
    rf"(?:(?P<number>{_CHECK_NUMBER})\s*[\^*]?\s+(?P<date>{_ANY_DATE})"
    rf"|(?P<date2>{_ANY_DATE})\s+(?P<number2>{_CHECK_NUMBER})\s*[\^*]?)\s+(?P<amount>{_AMOUNT})"
)
_CHECK_ENTRIES = re.compile(rf"(?:{_CHECK_ENTRY}\s*){{2,}}", re.I)
_CHECK_ENTRY_RE = re.compile(_CHECK_ENTRY, re.I)
_CHECK_ONLY = re.compile(rf"^(?:check|chk|cheque)?\s*#?\s*(?P<number>{_CHECK_NUMBER})\s*[\^*]?$", re.I)
_CHECK_WORD = re.compile(r"\b(?:check|chk|cheque)\b", re.I)
# A row of a daily balance table printed without its heading: only date/amount pairs.
_BALANCE_PAIRS = re.compile(rf"(?:(?:{_ANY_DATE})\s+{_AMOUNT}\s*){{2,}}", re.I)
# A line shaped like a transaction whose date is unreadable (OCR: "07107" for "07/07"): skipped
# and counted, never silently dropped.
_GARBLED_DATE = re.compile(rf"^(?P<date>\d[\dOlI|/.\-]{{2,9}})\s+\S.*\s{_AMOUNT}$", re.I)
_FULL_DATE = re.compile(rf"(?<![\d/.-])(?:{_DATE})(?![\d/])", re.I)
_BALANCE_WORDS = re.compile(
    r"\b(?P<open>(?:opening|beginning|starting|start|previous|last statement|last month'?s)\s+balance"
    r"|alter\s+kontostand|anfangssaldo|saldo\s+(?:inicial|anterior|iniziale)|beginsaldo"
    r"|solde\s+(?:pr[ée]c[ée]dent|initial))"
    r"|\b(?P<forward>balance\s+(?:brought\s+)?forward|balance\s+b/f)"
    r"|\b(?P<close>(?:ending|closing|new|statement|end)\s+balance|total\s+amount\s+due"
    r"|neuer\s+kontostand|endsaldo|saldo\s+(?:final|actual|finale)|eindsaldo|nouveau\s+solde|solde\s+final)"
    r"|\b(?P<page>balance\s+carried\s+forward|balance\s+c/f)"
    # "Kontostand am 30.06.2024": the first one printed is the opening, a later one the closing.
    r"|\b(?P<either>kontostand\s+am)",
    re.I,
)
_TRAILING_AMOUNT = re.compile(rf"(?P<amount>{_AMOUNT})\s*$", re.I)
_TOTAL = re.compile(rf"^(?:sub)?total\b.*?\s(?P<amount>{_AMOUNT})$", re.I)
# Headings are short lines without digits. Summary tables list balances and totals, not
# transactions: nothing under them is read until the next transaction heading.
_SUMMARY_HEADING = re.compile(
    r"summary|daily\s+(?:ending\s+|closing\s+|ledger\s+)?balances?|(?:ending|closing)\s+daily\s+balances?"
    r"|balances?\s+by\s+date|service\s+(?:charge|fee)\s+calculation|balancing\s+your|checkbook"
    r"|overview|at\s+a\s+glance",
    re.I,
)
_NEUTRAL_HEADING = re.compile(
    r"^(?:transaction\s+(?:details?|history)|account\s+activity|transactions|activity)\b", re.I
)
_BANK_CREDIT_HEADING = re.compile(
    r"^(?:other\s+)?(?:deposits?|credits?|additions|electronic\s+deposits?)\b", re.I
)
_BANK_DEBIT_HEADING = re.compile(
    r"^(?:other\s+)?(?:withdrawals?|debits?|checks?(?:\s+paid)?|cheques?|fees|service\s+charges|payments"
    r"|electronic\s+(?:withdrawals|payments|debits)|atm\s+(?:&|and)\s+debit|card\s+purchases|purchases)\b",
    re.I,
)
# A table's column header ("CHECK NUMBER DESCRIPTION PAID AMOUNT") is not a section heading.
_COLUMN_HEADER = re.compile(r"^date\b|\b(?:description|amount)\b", re.I)
# Words of either side, to tell a combined table's column header from a one-sided heading.
_BANK_SIDES = (
    re.compile(r"\b(?:deposits?|credits?|additions?)\b", re.I),
    re.compile(r"\b(?:withdrawals?|debits?|checks?|cheques?|fees?|payments?|purchases?|charges?)\b", re.I),
)
_CARD_SIDES = (
    re.compile(r"\b(?:payments?|credits?|refunds?)\b", re.I),
    re.compile(r"\b(?:purchases?|charges?|fees?|interest|advances?)\b", re.I),
)
_CONTINUED = re.compile(r"\(?\s*(?:continued|cont'?d)\.?\s*\)?\s*$", re.I)
_CARD_CREDIT_HEADING = re.compile(r"^(?:payments?|credits?|refunds?|other\s+credits)\b", re.I)
_CARD_DEBIT_HEADING = re.compile(
    r"^(?:purchases?|charges|fees|interest|cash\s+advances?|new\s+transactions)\b", re.I
)
_CREDIT_WORDS = re.compile(
    r"\b(?:deposit|credit|refund|interest paid|reversal|transfer from|payment received)\b", re.I
)
_CARD_CREDIT_WORDS = re.compile(r"\b(?:payment|refund|credit|rebate|reversal|cashback)\b", re.I)
# A card statement names its credit limit, minimum payment, payment due date, billing cycle...;
# two of them together do not appear on a bank account statement.
_CARD_MARKERS = (
    re.compile(r"credit\s+limit", re.I),
    re.compile(r"minimum\s+(?:payment|amount|due)", re.I),
    re.compile(r"payment\s+due\s+date", re.I),
    re.compile(r"billing\s+cycle", re.I),
    re.compile(r"available\s+credit", re.I),
    re.compile(r"annual\s+percentage\s+rate", re.I),
    re.compile(r"interest\s+charge", re.I),
)
_PERIOD = re.compile(
    rf"period\b\D{{0,20}}?(?P<start>{_DATE})\s*(?:-|–|to|through|thru)\s*(?P<end>{_DATE})", re.I
)
_SPAN = re.compile(rf"(?P<start>{_DATE})\s+(?:to|through|thru|-|–)\s+(?P<end>{_DATE})", re.I)
# A value or posting date printed after the booking date ("03.07.2024  03.07.  Vorgang",
# "Aug 4  Aug 6  OFFICE DEPOT") is a column of its own, not part of the description.
_SECOND_DATE = re.compile(rf"^(?:{_ANY_DATE}|\d{{1,2}}\.\d{{1,2}}\.)\s+(?=\S)", re.I)
# "Account number: ****4421", "Primary Account: 000000123456789", "Account # 1234-5678".
_ACCOUNT = re.compile(r"\baccount\s*(?:number|no\.?|#)?\s*:?\s*(?P<id>[*Xx\d][*Xx\d-]{2,30}\d)\b", re.I)
_CURRENCY_CODE = re.compile(r"\b(?:currency|ccy)\s*:?\s*([A-Z]{3})\b")


@dataclass(frozen=True)
class _Line:
    row: int  # 1-based line of the extracted text
    date_text: str
    description: str
    amount_text: str
    balance_text: str | None
    sign_hint: int  # +1 / -1 from the section heading (or a check's default), 0 when none
    section: int | None  # index of the section the line was listed under


@dataclass
class _Section:
    heading: str
    row: int
    sign: int
    stated_total: str | None = None
    total_row: int | None = None


@dataclass
class _Balances:
    """The opening and closing figures the statement prints, with the rows they are on, and the
    rows of transaction-like lines left unread under summary headings."""

    opening: list[tuple[int, str]] = field(default_factory=list)
    forward: list[tuple[int, str]] = field(default_factory=list)
    closing: list[tuple[int, str]] = field(default_factory=list)
    unread: list[int] = field(default_factory=list)  # transaction-like lines under a summary


def _explicit_sign(raw: str) -> int:
    text = raw.strip().upper()
    if text.startswith(("-", "−", "(")) or text.endswith(("-", "DR", ")")):
        return -1
    if text.startswith("+") or text.endswith(("CR", "+")):
        return 1
    return 0


def _is_card(text: str) -> bool:
    return sum(bool(marker.search(text)) for marker in _CARD_MARKERS) >= 2


def _heading(line: str, card: bool) -> int | Literal["summary"] | None:
    """+1/-1/0 for a transaction section heading, "summary" for a table that lists no
    transactions, None for a line that is not a heading."""
    if any(c.isdigit() for c in line) or len(line) > 80 or _COLUMN_HEADER.search(line):
        return None
    if _SUMMARY_HEADING.search(line):
        return "summary"
    credit, debit = (
        (_CARD_CREDIT_HEADING, _CARD_DEBIT_HEADING) if card else (_BANK_CREDIT_HEADING, _BANK_DEBIT_HEADING)
    )
    if credit.match(line) or debit.match(line):
        # "Deposits/ Withdrawals/ Ending daily" heads the columns of one combined table: its
        # lines have either sign.
        credit_words, debit_words = _CARD_SIDES if card else _BANK_SIDES
        if credit_words.search(line) and debit_words.search(line):
            return 0
        return 1 if credit.match(line) else -1
    if _NEUTRAL_HEADING.match(line):
        return 0
    return None


def _check_description(number: str, desc: str) -> str:
    if not desc:
        return f"Check {number}"
    if _CHECK_WORD.search(desc):
        return desc if number in desc else f"{desc} {number}"
    return f"{number} {desc}"


def _read_lines(text: str, card: bool) -> tuple[list[_Line], list[_Section], _Balances, list[SkippedRow]]:
    lines: list[_Line] = []
    skipped: list[SkippedRow] = []
    sections: list[_Section] = []
    balances = _Balances()
    reading = True  # False under a summary heading
    current: _Section | None = None
    for row, raw_line in enumerate(text.splitlines(), start=1):
        line = " ".join(raw_line.split())
        if not line or len(line) > 500:
            continue
        heading = _heading(line, card)
        if heading == "summary":
            reading, current = False, None
            continue
        if heading is not None:
            reading = True
            # A section continued on the next page is the same section (its total comes once).
            name = _CONTINUED.sub("", line).strip()
            current = next((s for s in sections if s.heading.lower() == name.lower()), None)
            if current is None:
                current = _Section(name, row, heading)
                sections.append(current)
            continue
        words = _BALANCE_WORDS.search(line)
        if words:
            # "Beginning balance ... 4,180.10" is a figure, not a transaction, even when dated,
            # and even inside a summary table (that is where most statements print it).
            trailing = _TRAILING_AMOUNT.search(line)
            if trailing and not words["page"]:
                kind = "opening" if words["open"] else "forward" if words["forward"] else "closing"
                if words["either"]:
                    kind = "closing" if balances.opening else "opening"
                getattr(balances, kind).append((row, trailing["amount"]))
            continue
        if not reading:
            described = _LINE.match(line)
            if described and any(c.isalpha() for c in described["desc"] or ""):
                # A dated, described line under a summary heading: summaries rarely look like
                # this, so it may be a transaction under a heading this reader does not know.
                balances.unread.append(row)
            continue
        total = _TOTAL.match(line)
        if total:
            if current is not None and current.stated_total is None:
                current.stated_total, current.total_row = total["amount"], row
            continue
        if _BALANCE_PAIRS.fullmatch(line):
            continue
        section_index = sections.index(current) if current is not None else None
        section_sign = current.sign if current is not None else 0
        found = _match_line(line, row, section_sign, section_index)
        garbled = _GARBLED_DATE.match(line) if not found else None
        if garbled:
            skipped.append(SkippedRow(row, f"the date '{garbled['date']}' could not be read"))
        lines.extend(found)
        if len(lines) > MAX_TRANSACTIONS:
            raise StatementError(f"The file has more than {MAX_TRANSACTIONS:,} transactions")
    return lines, sections, balances, skipped


def _match_line(line: str, row: int, section_sign: int, section: int | None) -> list[_Line]:
    # A check's default sign is a debit; a section heading above it says more.
    check_sign = section_sign or -1
    if _CHECK_ENTRIES.fullmatch(line):
        return [
            _Line(
                row,
                m["date"] or m["date2"],
                _check_description(m["number"] or m["number2"], ""),
                m["amount"],
                None,
                check_sign,
                section,
            )
            for m in _CHECK_ENTRY_RE.finditer(line)
        ]
    match = _CHECK_LINE.match(line) or _CHECK_DESCRIBED.match(line)
    if match is not None:
        desc = match["desc"] or ""
        sign = check_sign if not desc or _CHECK_WORD.search(desc) else section_sign
        description = _check_description(match["number"], desc)
        return [_Line(row, match["date"], description, match["amount"], match["balance"], sign, section)]
    match = _LINE.match(line)
    if match is None:
        return []
    desc = _SECOND_DATE.sub("", match["desc"] or "")
    check = _CHECK_ONLY.match(desc)
    if check is not None:
        sign = check_sign
        if not _CHECK_WORD.search(desc):
            desc = _check_description(check["number"], "")
    else:
        sign = section_sign
    return [_Line(row, match["date"], desc, match["amount"], match["balance"], sign, section)]


def parse_pdf(text: str) -> ParsedStatement:
    """Parse the text of a PDF statement; raises StatementError with the reason."""
    card = _is_card(text)
    lines, sections, stated, skipped = _read_lines(text, card)
    if not lines:
        raise StatementError("No transactions found in the file")

    money = [ln.amount_text for ln in lines] + [ln.balance_text for ln in lines if ln.balance_text]
    decimal_comma = infer_decimal_comma(money)
    full_dates = [m.group(0) for m in _FULL_DATE.finditer(text)]
    dates = DateReader([ln.date_text for ln in lines] + full_dates, prefer_dmy=decimal_comma)
    period = _PERIOD.search(text) or _SPAN.search(text)
    period_start, period_end = dates.period(period["start"], period["end"]) if period else (None, None)
    # Dates without a year take the statement's: its period end when it prints one (a sort code
    # such as 11-22-33 also reads as a date), else the latest full date in the text.
    latest = period_end or max((d for d in map(dates.parse, full_dates) if d is not None), default=None)

    def amount(raw: str | None) -> Decimal | None:
        return parse_amount_or_none(raw, decimal_comma=decimal_comma)

    warnings: list[Finding] = []
    opening = _stated_balance("opening", stated.opening or stated.forward[:1], amount, warnings)
    closing = _stated_balance("closing", stated.closing, amount, warnings)
    transactions: list[Transaction] = []
    previous_balance = None if card else opening
    for ln in lines:
        day = dates.parse(ln.date_text) or _short_date(ln.date_text, dates, latest)
        value = amount(ln.amount_text)
        if day is None or value is None:
            skipped.append(SkippedRow(ln.row, f"the date '{ln.date_text}' could not be read"))
            continue
        balance = amount(ln.balance_text)
        explicit = _explicit_sign(ln.amount_text)
        if card:
            value = _card_signed(abs(value), explicit, ln)
        else:
            value = _signed(abs(value), explicit, ln, previous_balance, balance)
            if balance is not None:
                previous_balance = balance
            elif previous_balance is not None:
                previous_balance += value
        transactions.append(Transaction(day, ln.description[:500], value, balance, row=ln.row))
    if not transactions:
        raise StatementError("No transactions found in the file")
    if len(skipped) >= MAX_SKIPPED and len(skipped) > len(transactions):
        raise StatementError(
            f"{len(skipped)} of {len(skipped) + len(transactions)} transaction lines could not be read"
        )
    if transactions[0].date > transactions[-1].date:
        transactions.reverse()
    # Sections list deposits, checks and withdrawals one after the other; the statement is one
    # chronology. The sort is stable, so lines of one day keep the order they were printed in.
    transactions.sort(key=lambda t: t.date)
    warnings.extend(_section_totals(sections, lines, transactions, amount))
    if stated.unread:
        warnings.append(
            Finding(
                "summary_lines_not_read",
                f"{len(stated.unread)} dated line(s) listed under a summary table were not read "
                "as transactions",
                {"rows": stated.unread[:20]},
            )
        )

    code = _CURRENCY_CODE.search(text)
    printed = money + [raw for _, raw in stated.opening + stated.forward + stated.closing]
    currency = code[1] if code else next(filter(None, map(detect_currency, printed)), None)
    accounts = tuple(dict.fromkeys(m["id"] for m in _ACCOUNT.finditer(text)))
    if len(accounts) == 1:
        transactions = [replace(t, account=accounts[0]) for t in transactions]
    account_type: AccountType = "checking"
    account_balances: tuple[AccountBalances, ...] = ()
    if card:
        # What a card statement calls its previous and new balance is an amount owed: kept for
        # the card (negative = owed, the sign its purchases carry), never as a bank balance.
        account_type = "credit_card"
        owed = [-b if b is not None else None for b in (opening, closing)]
        account = accounts[0] if len(accounts) == 1 else None
        account_balances = (AccountBalances(account, owed[0], owed[1], currency),)
        opening = closing = None
    return ParsedStatement(
        format="pdf",
        transactions=tuple(transactions),
        currency=currency,
        accounts=accounts,
        opening_balance=opening,
        closing_balance=closing,
        period_start=period_start,
        period_end=period_end,
        account_type=account_type,
        account_balances=account_balances,
        rows_skipped=tuple(sorted(skipped, key=lambda r: r.row)),
        warnings=tuple(warnings),
    )


def _stated_balance(
    kind: str,
    figures: list[tuple[int, str]],
    amount: _AmountReader,
    warnings: list[Finding],
) -> Decimal | None:
    """The statement's opening or closing balance: one figure, however often it is printed.

    Two different figures (a statement of several accounts, a summary that disagrees with the
    detail) leave the balance unknown rather than picking one, and say so.
    """
    values = {row: value for row, raw in figures if (value := amount(raw)) is not None}
    distinct = set(values.values())
    if len(distinct) == 1:
        return distinct.pop()
    if len(distinct) > 1:
        warnings.append(
            Finding(
                "ambiguous_balances",
                f"The statement prints several different {kind} balances; none is used",
                {"kind": kind, "figures": [{"row": r, "amount": f"{v:f}"} for r, v in values.items()]},
            )
        )
    return None


def _section_totals(
    sections: list[_Section],
    lines: list[_Line],
    transactions: list[Transaction],
    amount: _AmountReader,
) -> list[Finding]:
    """Compare each section's printed total with the lines read under it: a line the reader
    missed (or read twice) shows up here even when the statement prints no balances."""
    findings: list[Finding] = []
    by_row: dict[int, list[Decimal]] = {}
    for transaction in transactions:
        by_row.setdefault(transaction.row or 0, []).append(abs(transaction.amount))
    for index, section in enumerate(sections):
        stated = amount(section.stated_total)
        if stated is None or section.sign == 0:
            continue
        rows = sorted({ln.row for ln in lines if ln.section == index})
        read = sum((value for row in rows for value in by_row.get(row, [])), Decimal(0))
        if read != abs(stated):
            findings.append(
                Finding(
                    "section_total_mismatch",
                    f"The lines read under '{section.heading}' add up to {read:,.2f}, "
                    f"but the statement's total for it is {abs(stated):,.2f}",
                    {
                        "section": section.heading,
                        "heading_row": section.row,
                        "total_row": section.total_row,
                        "stated_total": f"{abs(stated):f}",
                        "read_total": f"{read:f}",
                        "rows": rows,
                    },
                )
            )
    return findings


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


def _card_signed(magnitude: Decimal, explicit: int, line: _Line) -> Decimal:
    """Card statements print purchases unsigned and payments/credits in brackets, with a minus
    or CR: a purchase is an outflow (negative), a payment or refund reduces what is owed."""
    if explicit:
        return -magnitude if line.amount_text.strip().upper().endswith("DR") else magnitude
    if line.sign_hint:
        return magnitude * line.sign_hint
    return magnitude if _CARD_CREDIT_WORDS.search(line.description) else -magnitude


def _short_date(raw: str, dates: DateReader, latest: datetime.date | None) -> datetime.date | None:
    """A date printed without its year ("01/15", "Jan 15") takes the statement's year.

    The year is the one that puts the date on or before the statement end (`latest`), so a
    December line on a January statement lands in the prior year.
    """
    if latest is None:
        return None
    for year in (latest.year, latest.year - 1):
        with_year = f"{raw}/{year}" if "/" in raw else f"{raw} {year}"
        day = dates.parse(with_year)
        if day is not None and day <= latest:
            return day
    return None
