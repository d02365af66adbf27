"""Choosing the columns of a CSV export by what their cells hold, with header names as hints.

A header name only proposes roles ("Valuta" may be a value date or a currency, "Umsatz" an
amount or a yes/no flag); the column's cells decide. A date-shaped column is never an amount, an
indicator column's D/C marks decide the sign, and an account column whose value changes from row
to row is the counterparty's, not the statement's.

One module although near 500 lines: each column rule is judged against the others on the
same cells (a date-shaped column removed before amounts are ranked, an indicator before signs),
so they change together; the header words they start from live in `headers.py`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import pairwise
from typing import Literal

from deals.parsing.headers import CREDIT_MARKS, DEBIT_MARKS, Role, amount_rank, date_rank, header_roles
from deals.parsing.values import (
    has_decimal_part,
    infer_decimal_comma,
    looks_like_amount,
    looks_like_date,
    parse_amount,
)

PROFILE_ROWS = 500

# Column profiles -----------------------------------------------------------------------------------

_CURRENCY_CODE = re.compile(r"[A-Z]{3}")
_IBAN = re.compile(r"[A-Z]{2}\d{2}[A-Z0-9]{11,30}")


@dataclass
class ColumnProfile:
    """What the cells of one column are, measured on the first rows of the body."""

    index: int
    header: str
    seen: int = 0
    filled: int = 0
    dates: int = 0
    amounts: int = 0
    decimals: int = 0
    signed: int = 0
    long_integers: int = 0
    leading_zero: int = 0
    currencies: int = 0
    ibans: int = 0
    marks: set[str] = field(default_factory=set)
    unmarked: int = 0
    distinct: set[str] = field(default_factory=set)
    text_chars: int = 0

    def share(self, count: int) -> float:
        return count / self.filled if self.filled else 0.0

    @property
    def date_shaped(self) -> bool:
        return self.filled > 0 and self.share(self.dates) >= 0.8

    @property
    def amount_shaped(self) -> bool:
        """Reads as amounts and is not a column of dates: `31.12.2013` reads as 31,122,013."""
        return self.share(self.amounts) >= 0.9 and self.share(self.dates) < 0.5

    @property
    def code_like(self) -> bool:
        """Whole numbers used as codes: leading zeros, a handful of values, or account numbers."""
        if not self.filled or self.decimals or self.signed:
            return False
        if self.leading_zero or self.share(self.long_integers) >= 0.5:
            return True
        return self.filled >= 10 and len(self.distinct) <= max(3, self.filled // 20)

    @property
    def indicator(self) -> bool:
        """Every filled cell is a debit or credit mark."""
        return self.filled > 0 and self.unmarked == 0

    @property
    def both_directions(self) -> bool:
        return bool(self.marks & DEBIT_MARKS) and bool(self.marks & CREDIT_MARKS)

    @property
    def constant(self) -> bool:
        """The same value on every row (a statement's own account, its currency)."""
        return len(self.distinct) == 1 and self.filled == self.seen >= 3

    @property
    def account_shaped(self) -> bool:
        """IBANs, or account numbers: long whole numbers without cents or sign."""
        return self.filled > 0 and (
            self.share(self.ibans) >= 0.9 or (self.share(self.long_integers) >= 0.9 and not self.signed)
        )

    @property
    def varies(self) -> bool:
        """Changes from row to row, or is blank on some rows: a statement's own account is on
        every row and hardly changes (a multi-account export has a few of them)."""
        return self.filled < self.seen or len(self.distinct) > max(1, self.filled // 10)


def profile_columns(header: Sequence[str], rows: Sequence[Sequence[str]], width: int) -> list[ColumnProfile]:
    """Measure each column of `rows` (the first PROFILE_ROWS of them)."""
    profiles = [ColumnProfile(i, header[i].strip() if i < len(header) else "") for i in range(width)]
    for row in rows[:PROFILE_ROWS]:
        for profile in profiles:
            profile.seen += 1
        for profile, raw in zip(profiles, row, strict=False):
            cell = raw.strip()
            if not cell:
                continue
            profile.filled += 1
            if len(profile.distinct) <= PROFILE_ROWS:
                profile.distinct.add(cell)
            lower = cell.lower().rstrip(".")
            if lower in DEBIT_MARKS or lower in CREDIT_MARKS:
                profile.marks.add(lower)
            else:
                profile.unmarked += 1
            if _CURRENCY_CODE.fullmatch(cell):
                profile.currencies += 1
            if _IBAN.fullmatch(cell.replace(" ", "")):
                profile.ibans += 1
            if looks_like_date(cell):
                profile.dates += 1
                continue
            if looks_like_amount(cell):
                profile.amounts += 1
                digits = sum(c.isdigit() for c in cell)
                if has_decimal_part(cell):
                    profile.decimals += 1
                elif digits >= 8:
                    profile.long_integers += 1
                if cell.startswith("0") and digits > 1 and not has_decimal_part(cell):
                    profile.leading_zero += 1
                if any(c in cell for c in "-()+") or cell.upper().endswith(("CR", "DR")):
                    profile.signed += 1
            else:
                profile.text_chars += len(cell)
    return profiles


# Choosing ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Columns:
    """The column index of each role (None when the file has no such column)."""

    date: int
    description: tuple[int, ...] = ()
    amount: int | None = None
    debit: int | None = None
    credit: int | None = None
    balance: int | None = None
    indicator: int | None = None
    currency: int | None = None
    account: int | None = None
    counterparty: int | None = None
    counterparty_account: int | None = None
    # A headerless file's debit and credit columns told apart by the order banks print them in,
    # not by a running balance: the statement says so.
    direction_assumed: bool = False

    @property
    def money(self) -> tuple[int, ...]:
        return tuple(i for i in (self.amount, self.debit, self.credit, self.balance) if i is not None)


class NoAmountColumn(Exception):
    """The header was found but no column holds dates or amounts; `kind` says which, or what the
    file seems to be."""

    def __init__(
        self, kind: Literal["balance_history", "no_date", "unknown"], headers: Sequence[str]
    ) -> None:
        super().__init__(kind)
        self.kind = kind
        self.headers = [h for h in headers if h]


def header_date_columns(row: Sequence[str]) -> list[int]:
    """Indexes of the cells of a candidate header row whose name proposes a date."""
    return [i for i, cell in enumerate(row) if "date" in header_roles(cell)]


def choose_columns(header: Sequence[str], rows: Sequence[Sequence[str]]) -> Columns:
    """Assign roles to the columns under `header`; raises NoAmountColumn when there is no amount."""
    width = max([len(header)] + [len(r) for r in rows[:PROFILE_ROWS]])
    profiles = profile_columns(header, rows, width)
    hints = [header_roles(p.header) for p in profiles]
    taken: set[int] = set()

    def fits(profile: ColumnProfile, role: Role) -> bool:
        if profile.index in taken:
            return False
        if not profile.filled:
            # An empty column keeps what its name says when the file has no rows, or when it is
            # one of a debit/credit pair (no credits yet); an empty "amount" is not the amount.
            return not rows or role not in {"date", "amount", "balance"}
        if role == "date":
            # Named: half the cells suffice, since totals and footers sit in the date column of
            # short files ("Total,,2.00").
            return profile.share(profile.dates) >= 0.5
        if role in {"balance", "amount", "debit", "credit"}:
            # A named money column may hold a few unreadable cells (those rows are skipped), but
            # not mostly words, yes/no flags, D/C marks or dates.
            return (
                profile.share(profile.amounts) >= 0.5
                and not profile.indicator
                and profile.share(profile.dates) < 0.5
            )
        if role == "indicator":
            return profile.indicator
        if role == "currency":
            return profile.share(profile.currencies) >= 0.9
        if role == "account":
            # Account numbers may be all digits, but never have cents or a sign.
            return not profile.date_shaped and not profile.decimals and not profile.signed
        if role == "description" and "ignore" in hints[profile.index]:
            return False  # "Transaction ID", "Reference Number": codes, not words
        return not profile.date_shaped and not profile.amount_shaped

    def named(role: Role) -> list[ColumnProfile]:
        return [p for p, h in zip(profiles, hints, strict=True) if role in h and fits(p, role)]

    def take(*chosen: ColumnProfile | None) -> None:
        taken.update(p.index for p in chosen if p is not None)

    dates = named("date") or [p for p in profiles if p.date_shaped]
    if not dates:
        raise NoAmountColumn("no_date", header)
    date = max(dates, key=lambda p: (date_rank(p.header), -p.index))
    taken.add(date.index)
    # Every other date-shaped column (a value date) is out of the running for any money role.
    taken.update(p.index for p in profiles if p.date_shaped)

    balances = named("balance")
    balance = _first(balances)
    take(balance)
    debit, credit = _first(named("debit")), _first(named("credit"))
    take(debit, credit)
    amounts = named("amount")
    if not amounts and debit is None and credit is None:
        amounts = [
            p
            for p in profiles
            if p.index not in taken
            and p.amount_shaped
            and not p.code_like
            and not p.indicator
            and not ({"ignore", "account", "currency", "balance"} & set(hints[p.index]))
        ]
        if balance is not None and _balance_history(profiles, balances, amounts, balance, rows):
            raise NoAmountColumn("balance_history", header)
    amount = _best_amount(amounts, balance, rows)
    if amount is not None and debit is not None and credit is not None:
        amount = None  # separate debit/credit columns are the more explicit of the two
    if amount is None and debit is None and credit is None:
        kind: Literal["balance_history", "unknown"] = "balance_history" if balance else "unknown"
        raise NoAmountColumn(kind, header)
    take(amount)

    indicator = None
    if amount is not None:
        marked = [p for p in profiles if p.index not in taken and p.indicator]
        indicator = next((p for p in marked if "indicator" in hints[p.index]), None) or next(
            (p for p in marked if p.both_directions), None
        )
        take(indicator)

    currency = _first(named("currency"))
    take(currency)
    account = counterparty_account = None
    for profile in named("account"):
        # A value that never changes is the statement's own account, whatever the name says
        # (Commerzbank calls the account holder's own account "Auftraggeberkonto").
        is_counterparty = not profile.constant and ("counterparty" in hints[profile.index] or profile.varies)
        if is_counterparty and counterparty_account is None:
            counterparty_account = profile
        elif not is_counterparty and account is None:
            account = profile
        taken.add(profile.index)
    counterparty = _first(named("counterparty"))
    descriptions = [p.index for p in named("description") if p.index != getattr(counterparty, "index", None)]
    if counterparty is not None:
        # The other party's name is part of what the line says: screening reads the description.
        descriptions = sorted([*descriptions, counterparty.index])
    if not descriptions:
        unnamed = [
            p
            for p in profiles
            if p.index not in taken and not hints[p.index] and p.text_chars and not p.indicator
        ]
        if unnamed:
            descriptions = [max(unnamed, key=lambda p: p.text_chars).index]
    return Columns(
        date=date.index,
        description=tuple(descriptions),
        amount=None if amount is None else amount.index,
        debit=None if amount is not None or debit is None else debit.index,
        credit=None if amount is not None or credit is None else credit.index,
        balance=None if balance is None else balance.index,
        indicator=None if indicator is None else indicator.index,
        currency=None if currency is None else currency.index,
        account=None if account is None else account.index,
        counterparty=None if counterparty is None else counterparty.index,
        counterparty_account=None if counterparty_account is None else counterparty_account.index,
    )


def _balance_history(
    profiles: Sequence[ColumnProfile],
    balances: Sequence[ColumnProfile],
    unnamed: Sequence[ColumnProfile],
    balance: ColumnProfile,
    rows: Sequence[Sequence[str]],
) -> bool:
    """A date and balances (ledger, available, collected...), and no column of amounts the
    balance follows: a day's balance per line, whatever other figure (a float) sits beside it."""
    if any(is_running_balance(rows, p.index, balance.index) for p in unnamed):
        return False
    described = any(p.text_chars and not p.indicator for p in profiles)
    return len(balances) >= 2 or not described


def _first(profiles: Sequence[ColumnProfile]) -> ColumnProfile | None:
    return profiles[0] if profiles else None


def _best_amount(
    candidates: Sequence[ColumnProfile], balance: ColumnProfile | None, rows: Sequence[Sequence[str]]
) -> ColumnProfile | None:
    if len(candidates) <= 1:
        return _first(candidates)
    if balance is not None:
        # The column the running balance follows is the money that moved, whatever it is called.
        agreeing = [c for c in candidates if is_running_balance(rows, c.index, balance.index)]
        if len(agreeing) == 1:
            return agreeing[0]
    # Then cells like money: cents or signs (a reference number has neither), then the leftmost.
    return max(
        candidates,
        key=lambda p: (amount_rank(p.header), not p.code_like, bool(p.decimals or p.signed), -p.index),
    )


def is_running_balance(rows: Sequence[Sequence[str]], amount: int, balance: int) -> bool:
    """True when ≥ 80 % of consecutive rows agree with `previous balance ± amount = balance`."""
    sample = [r for r in rows[:PROFILE_ROWS] if len(r) > max(amount, balance)]
    comma = infer_decimal_comma(r[amount] for r in sample)
    values = []
    for row in sample:
        try:
            values.append(
                (
                    parse_amount(row[amount], decimal_comma=comma),
                    parse_amount(row[balance], decimal_comma=comma),
                )
            )
        except ValueError:
            continue
    return _follows_balance(values)


def _follows_balance(values: Sequence[tuple[Decimal | None, Decimal | None]]) -> bool:
    """True when ≥ 80 % of consecutive (amount, balance) rows, read oldest or newest first, agree
    with `previous balance + amount = balance`."""
    pairs = oldest_first = newest_first = 0
    for (amount_above, previous), (amount_here, current) in pairwise(values):
        if amount_above is None or previous is None or amount_here is None or current is None:
            continue
        pairs += 1
        # Oldest first, a row's balance is the one above plus its own amount; newest first, the
        # row above is the later one, so its balance is this one plus the amount above.
        if previous + amount_here == current:
            oldest_first += 1
        if current + amount_above == previous:
            newest_first += 1
    return pairs > 0 and max(oldest_first, newest_first) >= 0.8 * pairs


def infer_headerless_columns(rows: Sequence[Sequence[str]], width: int) -> Columns | None:
    """Columns of a headerless export (e.g. `"01/15/2024","-12.00","*","","COFFEE"`)."""
    body = [r for r in rows if len(r) == width][:PROFILE_ROWS]
    if width < 2 or not body:
        return None
    profiles = profile_columns([""] * width, body, width)
    mostly_filled = [p for p in profiles if p.filled >= 0.8 * len(body)]
    date = next((p for p in mostly_filled if p.date_shaped), None)
    if date is None:
        return None
    money = [
        p
        for p in profiles
        if p.index != date.index and not p.date_shaped and p.amount_shaped and not p.code_like
    ]
    numeric = [p for p in money if p in mostly_filled]
    pair = _debit_credit_pair(body, money)
    amount: ColumnProfile | None = None
    debit = credit = balance = None
    direction_assumed = False
    if pair is not None:
        first, second = pair
        balance = next((p for p in numeric if p not in pair), None)
        order = None if balance is None else _pair_order(body, first, second, balance)
        if order is None:
            # No balance settles it: banks that export this layout (TD, CIBC, RBC...) print money
            # out before money in, and the statement says the order was assumed.
            order, balance, direction_assumed = (first, second), None, True
        debit, credit = order
    elif numeric:
        amount = numeric[0]
        pairs = [
            (a, b)
            for a in numeric
            for b in numeric
            if a is not b and is_running_balance(body, a.index, b.index)
        ]
        if pairs:
            amount, balance = pairs[0]
        elif not amount.decimals and any(p.decimals for p in numeric):
            amount = next(p for p in numeric if p.decimals)
    else:
        return None
    used = {date.index} | {p.index for p in (amount, debit, credit, balance) if p is not None}
    others = [p for p in profiles if p.index not in used and not p.date_shaped and not p.amount_shaped]
    # An IBAN on every row is the statement's own account; one that changes is the other party's.
    accounts = [p for p in profiles if p.index not in used and p.account_shaped]
    account = next((p for p in accounts if p.constant), None)
    counterparty_account = next((p for p in accounts if not p.constant and p.share(p.ibans) >= 0.9), None)
    currency = next((p for p in others if p.constant and p.share(p.currencies) == 1), None)
    skipped = {p.index for p in (account, counterparty_account, currency) if p is not None}
    description = max((p for p in others if p.index not in skipped), key=lambda p: p.text_chars, default=None)
    indicator = next((p for p in profiles if p.index not in used and p.indicator and p.both_directions), None)
    return Columns(
        date=date.index,
        amount=None if amount is None else amount.index,
        debit=None if debit is None else debit.index,
        credit=None if credit is None else credit.index,
        balance=None if balance is None else balance.index,
        indicator=None if indicator is None or amount is None else indicator.index,
        description=() if description is None or not description.text_chars else (description.index,),
        currency=None if currency is None else currency.index,
        account=None if account is None else account.index,
        counterparty_account=None if counterparty_account is None else counterparty_account.index,
        direction_assumed=direction_assumed,
    )


def _debit_credit_pair(
    rows: Sequence[Sequence[str]], money: Sequence[ColumnProfile]
) -> tuple[ColumnProfile, ColumnProfile] | None:
    """Two money columns, in file order, of which (nearly) every row fills exactly one: a
    headerless file's separate debit and credit columns."""
    for a, b in pairwise(money):
        # Side by side and with cents: an amount beside a column of check numbers is not a pair.
        if b.index != a.index + 1 or not a.decimals or not b.decimals:
            continue
        exclusive = sum(
            1 for row in rows if (_money_cell(row, a.index) is None) != (_money_cell(row, b.index) is None)
        )
        if exclusive >= 0.9 * len(rows):
            return a, b
    return None


def _money_cell(row: Sequence[str], index: int) -> str | None:
    """The cell when it holds a figure other than zero ("0.00" in the unused column is empty)."""
    cell = row[index].strip() if index < len(row) else ""
    return cell if cell.strip("0.,-+ ") else None


def _pair_order(
    rows: Sequence[Sequence[str]], first: ColumnProfile, second: ColumnProfile, balance: ColumnProfile
) -> tuple[ColumnProfile, ColumnProfile] | None:
    """(debit, credit) as the running balance says: previous + credit − debit = balance."""
    comma = infer_decimal_comma(row[i] for row in rows for i in (first.index, second.index, balance.index))
    flows: list[tuple[Decimal, Decimal]] = []
    for row in rows:
        try:
            a = parse_amount(row[first.index], decimal_comma=comma) or Decimal(0)
            b = parse_amount(row[second.index], decimal_comma=comma) or Decimal(0)
            current = parse_amount(row[balance.index], decimal_comma=comma)
        except ValueError:
            continue
        if current is not None:
            flows.append((abs(b) - abs(a), current))
    if _follows_balance(flows):
        return first, second
    if _follows_balance([(-flow, current) for flow, current in flows]):
        return second, first
    return None
