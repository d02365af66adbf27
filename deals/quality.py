"""Plausibility checks: the warnings a statement and a deal carry, each a `Finding` with evidence.

Pure functions, no Django. Statement-level checks read one `ParsedStatement`; deal-level checks
(history length, currencies, statements that repeat each other) read small summaries of the
deal's statements. Codes and thresholds are documented in docs/underwriting.md ("Warnings").
"""

from __future__ import annotations

import datetime
import hashlib
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from deals.parsing.statement import Finding, ParsedStatement, Transaction, money_str
from deals.reconciliation import Reconciliation
from deals.stored import to_json
from deals.underwriting import MIN_HISTORY_DAYS

# At most this many items of evidence (rows, amounts, dates) are listed in one warning.
EVIDENCE_ITEMS = 10
# An amount with this many integer digits and no cents reads like an account number or reference.
ACCOUNT_NUMBER_DIGITS = 9
# A statement whose amounts are all small whole numbers (below CODE_MAX_VALUE) taking at most
# CODE_MAX_DISTINCT values over at least CODE_MIN_ROWS rows was most likely read from a
# record-code column (BAI-style codes have up to three digits).
CODE_MAX_DISTINCT = 3
CODE_MIN_ROWS = 20
CODE_MAX_VALUE = Decimal(1000)
# A statement covering fewer days than this has its per-30-day figures extrapolated from a sliver.
SHORT_STATEMENT_DAYS = 7
# A stated period is implausible when it is more than this many days longer than the transactions
# span and more than twice that span (an OFX DTSTART years before the data).
PERIOD_SLACK_DAYS = 62


# --- one statement --------------------------------------------------------------------------------


_ACCOUNT_NUMBER_LOW = Decimal(10) ** (ACCOUNT_NUMBER_DIGITS - 1)
_DATE_SHAPED_LOW = Decimal(1_000_000)  # 7 digits: 1.12.2013 read as 1122013
_DATE_SHAPED_HIGH = Decimal(100_000_000)


def _date_shaped(amount: Decimal) -> bool:
    """An amount such as 31122013 or 20240115: a date read as a number (decimal-comma rules)."""
    if not _DATE_SHAPED_LOW <= abs(amount) < _DATE_SHAPED_HIGH or amount != amount.to_integral_value():
        return False
    digits = f"{abs(int(amount)):08d}"  # 7 or 8 digits; 1.12.2013 → 1122013 → 01122013
    for fmt in ("%d%m%Y", "%Y%m%d", "%m%d%Y"):
        try:
            parsed = datetime.datetime.strptime(digits, fmt).date()
        except ValueError:
            continue
        if 1950 <= parsed.year <= 2100:
            return True
    return False


def _amount_evidence(items: Sequence[tuple[int, Transaction]]) -> dict[str, Any]:
    return {
        "count": len(items),
        "rows": [t.row_number(i) for i, t in items[:EVIDENCE_ITEMS]],
        "amounts": [money_str(t.amount) for _, t in items[:EVIDENCE_ITEMS]],
    }


def implausible_amounts(parsed: ParsedStatement) -> list[Finding]:
    """Amounts shaped like dates, account numbers or codes, and periods that do not fit the data."""
    findings: list[Finding] = []
    dates: list[tuple[int, Transaction]] = []
    huge: list[tuple[int, Transaction]] = []
    for i, t in enumerate(parsed.transactions, start=1):
        # One cheap range test per row; the string work only for the rare large amounts.
        a = t.amount
        if a >= _DATE_SHAPED_LOW or a <= -_DATE_SHAPED_LOW:
            if _date_shaped(a):
                dates.append((i, t))
            elif (a >= _ACCOUNT_NUMBER_LOW or a <= -_ACCOUNT_NUMBER_LOW) and a == a.to_integral_value():
                huge.append((i, t))
    if dates:
        findings.append(
            Finding(
                "implausible_amounts",
                f"{len(dates)} amount{'s' if len(dates) != 1 else ''} look like dates read as numbers "
                f"(for example {money_str(dates[0][1].amount)}): a date column may have been taken as "
                "the amount.",
                {"kind": "date_shaped", **_amount_evidence(dates)},
            )
        )
    if huge:
        findings.append(
            Finding(
                "implausible_amounts",
                f"{len(huge)} amount{'s' if len(huge) != 1 else ''} look like account numbers or references "
                f"(whole numbers of {ACCOUNT_NUMBER_DIGITS} digits or more, such as "
                f"{money_str(huge[0][1].amount)}).",
                {"kind": "account_number_shaped", **_amount_evidence(huge)},
            )
        )
    amounts = [t.amount for t in parsed.transactions]
    # Cheapest test first: most statements have cents on their first row.
    if len(amounts) >= CODE_MIN_ROWS and all(a == a.to_integral_value() for a in amounts):
        distinct = {abs(a) for a in amounts}
        if len(distinct) <= CODE_MAX_DISTINCT and max(distinct) < CODE_MAX_VALUE:
            findings.append(
                Finding(
                    "implausible_amounts",
                    f"All {len(amounts)} amounts are whole numbers taking only {len(distinct)} distinct "
                    "values: they look like record codes, not money.",
                    {"kind": "code_shaped", "values": sorted(money_str(v) or "" for v in distinct)},
                )
            )
    findings.extend(_period_findings(parsed))
    return findings


def _span(parsed: ParsedStatement) -> tuple[datetime.date, datetime.date] | None:
    if not parsed.transactions:
        return None
    days = [t.date for t in parsed.transactions]
    return min(days), max(days)


def stated_period_is_plausible(parsed: ParsedStatement) -> bool:
    """Whether the period the file states fits its transactions (see PERIOD_SLACK_DAYS)."""
    span = _span(parsed)
    if span is None or parsed.period_start is None or parsed.period_end is None:
        return True
    start, end = span
    if parsed.period_start > parsed.period_end:
        return False
    stated = (parsed.period_end - parsed.period_start).days + 1
    actual = (end - start).days + 1
    return not (stated > actual + PERIOD_SLACK_DAYS and stated > 2 * actual)


def statement_period(parsed: ParsedStatement) -> tuple[datetime.date | None, datetime.date | None]:
    """The period to record: the file's own when plausible, else the transactions' first and last day."""
    span = _span(parsed)
    if not stated_period_is_plausible(parsed) and span is not None:
        return span
    start = parsed.period_start or (span[0] if span else None)
    end = parsed.period_end or (span[1] if span else None)
    if span is not None and start is not None and end is not None:
        start, end = min(start, span[0]), max(end, span[1])
    return start, end


def _period_findings(parsed: ParsedStatement) -> list[Finding]:
    span = _span(parsed)
    if span is None:
        return []
    findings: list[Finding] = []
    if not stated_period_is_plausible(parsed):
        findings.append(
            Finding(
                "implausible_amounts",
                f"The file states a period of {parsed.period_start} to {parsed.period_end}, far wider "
                f"than its transactions ({span[0]} to {span[1]}); the transactions' dates are used.",
                {
                    "kind": "period_too_wide",
                    "stated_start": str(parsed.period_start),
                    "stated_end": str(parsed.period_end),
                    "first_transaction": span[0].isoformat(),
                    "last_transaction": span[1].isoformat(),
                },
            )
        )
    start, end = statement_period(parsed)
    if start is not None and end is not None:
        days = (end - start).days + 1
        if days < SHORT_STATEMENT_DAYS:
            findings.append(
                Finding(
                    "implausible_amounts",
                    f"The statement covers only {days} day{'s' if days != 1 else ''} with "
                    f"{len(parsed.transactions)} transactions: figures per 30 days would be extrapolated "
                    f"from {days} day{'s' if days != 1 else ''}.",
                    {"kind": "short_period", "days": days, "transaction_count": len(parsed.transactions)},
                )
            )
    return findings


def statement_findings(parsed: ParsedStatement, result: Reconciliation) -> list[Finding]:
    """Every warning about one statement: the parser's own, then `reconciliation_failed` when the
    file's balances do not add up, `rows_skipped` when the parser left rows it could not read
    out, and plausibility."""
    findings = list(parsed.warnings)
    if result.failed:
        findings.append(
            Finding(
                "reconciliation_failed",
                "The statement's amounts do not add up to the balances the file states, so its numbers "
                f"cannot be trusted. {result.detail}",
                to_json(result),
            )
        )
    skipped = parsed.rows_skipped
    if skipped:
        findings.append(
            Finding(
                "rows_skipped",
                f"{len(skipped)} row{'s' if len(skipped) != 1 else ''} of the file could not be read and "
                f"{'were' if len(skipped) != 1 else 'was'} left out (first: row {skipped[0].row}, {skipped[0].reason}).",
                {"count": len(skipped), "rows": [to_json(r) for r in skipped[:EVIDENCE_ITEMS]]},
            )
        )
    return [*findings, *implausible_amounts(parsed)]


# --- identical transactions across a deal's statements --------------------------------------------


def transaction_key(t: Transaction) -> str:
    """A short fingerprint of what makes two transactions the same: day, amount and description.

    The account and running balance are left out on purpose: the same account exported twice
    (CSV and OFX, or two overlapping periods) names them differently or not at all.
    """
    description = " ".join(t.description.upper().split())
    # Whole cents, so 10.0 and 10.00 (formats differ in how they write amounts) are the same.
    text = f"{t.date.toordinal()}|{int(t.amount * 100)}|{description}"
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()


def transaction_keys(transactions: Iterable[Transaction]) -> list[str]:
    return [transaction_key(t) for t in transactions]


@dataclass(frozen=True)
class EarlierStatement:
    """What de-duplication needs to know of a statement already counted in the deal."""

    statement_id: int
    filename: str
    keys: Sequence[str]


@dataclass(frozen=True)
class Overlap:
    """Which transactions of a new statement are already counted, and what to tell the underwriter."""

    duplicate_positions: frozenset[int]  # 0-based positions in the new statement's transactions
    duplicate_of: int | None  # the statement it repeats entirely, if it does
    findings: tuple[Finding, ...] = field(default=())


def find_overlap(
    transactions: Sequence[Transaction], keys: Sequence[str], earlier: Sequence[EarlierStatement]
) -> Overlap:
    """Match a new statement's transactions against those the deal already counts.

    Counting is by multiset: a file that really lists two identical coffees keeps both unless an
    earlier statement lists two as well. Every transaction is counted once across the deal.
    """
    available: Counter[str] = Counter()
    shared: Counter[int] = Counter()  # earlier statement id → transactions shared with it
    owners: dict[str, list[int]] = {}
    for statement in earlier:
        available.update(statement.keys)
        for key in statement.keys:
            owners.setdefault(key, []).append(statement.statement_id)
    duplicates: list[int] = []
    for position, key in enumerate(keys):
        if available[key] > 0:
            available[key] -= 1
            duplicates.append(position)
            shared[owners[key][0]] += 1
    if not duplicates:
        return Overlap(frozenset(), None)
    names = {s.statement_id: s.filename for s in earlier}
    # Entirely counted already (by one statement, or by several together, e.g. a two-month
    # export after each month's): a duplicate of the statement it shares the most with.
    duplicate_of = max(shared, key=lambda sid: shared[sid]) if len(duplicates) == len(keys) else None
    examples = [
        {"date": transactions[p].date.isoformat(), "amount": money_str(transactions[p].amount)}
        for p in duplicates[:EVIDENCE_ITEMS]
    ]
    others = ", ".join(f"statement {sid} ({names[sid]})" for sid in shared)
    findings = [
        Finding(
            "duplicate_transactions",
            f"{len(duplicates)} of this statement's {len(keys)} transactions are already in {others}; "
            "each is counted once.",
            {"count": len(duplicates), "statement_ids": list(shared), "examples": examples},
        )
    ]
    if duplicate_of is not None:
        message = (
            f"This statement repeats {others}: all of its transactions are already counted, so it "
            "is kept out of the score."
        )
    else:
        message = f"This statement's period overlaps {others}: the transactions both list are counted once."
    findings.append(
        Finding(
            "overlapping_statements",
            message,
            {"statement_ids": list(shared), "duplicate_of": duplicate_of, "shared": len(duplicates)},
        )
    )
    return Overlap(frozenset(duplicates), duplicate_of, tuple(findings))


# --- the deal ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StatementFacts:
    """What the deal-level checks read of one completed statement (in completion order)."""

    statement_id: int
    currency: str | None
    period_start: datetime.date | None
    period_end: datetime.date | None
    duplicate_of: int | None = None
    account_type: str = "checking"


# Balances and deposits of these accounts are not a business bank account's: a card's balance is
# an amount owed and its payments are not revenue; a brokerage history's flows are investments.
UNSCORED_ACCOUNT_TYPES = frozenset({"credit_card", "unknown"})
_ACCOUNT_WORDS = {"credit_card": "a credit-card statement", "unknown": "not a bank account statement"}


def is_scored_account(account_type: str | None) -> bool:
    """Whether a statement of this account type counts towards the deal's balances and revenue."""
    return (account_type or "checking") not in UNSCORED_ACCOUNT_TYPES


def account_type_findings(statements: Sequence[StatementFacts]) -> list[Finding]:
    """`not_a_bank_account` for each statement the score leaves out because of its account type."""
    return [
        Finding(
            "not_a_bank_account",
            f"Statement {s.statement_id} is {_ACCOUNT_WORDS[s.account_type]}: its transactions are "
            "listed, but it is kept out of the balances, revenue and score.",
            {"statement_id": s.statement_id, "account_type": s.account_type},
        )
        for s in statements
        if not is_scored_account(s.account_type)
    ]


def deal_currency(statements: Sequence[StatementFacts]) -> str | None:
    """The currency the deal is scored in: the one most of its statements state; on a tie, the
    first completed statement's. Statements that state none are taken to be in it."""
    counts = Counter(s.currency for s in statements if s.currency)
    if not counts:
        return None
    top = max(counts.values())
    return next(s.currency for s in statements if s.currency and counts[s.currency] == top)


def currency_findings(statements: Sequence[StatementFacts], currency: str | None) -> list[Finding]:
    """`currency_mismatch` for each statement in another currency than the deal's."""
    return [
        Finding(
            "currency_mismatch",
            f"Statement {s.statement_id} is in {s.currency}, the deal is scored in {currency}: it is "
            "kept out of the score.",
            {"statement_id": s.statement_id, "currency": s.currency, "deal_currency": currency},
        )
        for s in statements
        if currency and s.currency and s.currency != currency
    ]


def history_days(statements: Sequence[StatementFacts]) -> int:
    """Calendar days covered by at least one of the statements (overlaps counted once)."""
    covered = {
        day
        for s in statements
        if s.period_start is not None and s.period_end is not None
        for day in range(s.period_start.toordinal(), s.period_end.toordinal() + 1)
    }
    return len(covered)


def short_history_finding(days: int) -> Finding | None:
    """`short_history` when the counted statements cover fewer than MIN_HISTORY_DAYS days."""
    if days >= MIN_HISTORY_DAYS:
        return None
    return Finding(
        "short_history",
        f"The statements cover {days} day{'s' if days != 1 else ''} of history, less than the "
        f"{MIN_HISTORY_DAYS}-day minimum: the score is provisional and is not proposed for approval.",
        {"days": days, "minimum_days": MIN_HISTORY_DAYS},
    )
