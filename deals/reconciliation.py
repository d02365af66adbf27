"""Reconciliation, the quality gate: do a statement's amounts add up to the balances the file states?

Pure functions over a `ParsedStatement`; the rules are documented in docs/underwriting.md
("Reconciliation"). Two checks, wherever the file states what they need:

* totals: opening balance + Σ amounts = closing balance, to the cent (per account when the file
  lists several accounts' balances);
* running balance: previous balance + amount = this row's balance, row by row.

A statement that states no balance at all cannot be checked: `not_possible`, with the reason.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from itertools import groupby
from typing import Literal

from deals.parsing.statement import ParsedStatement, Transaction, money_text, round_half_up

# Same-day reordering (see `_reorder`): an exhaustive search up to this many rows in one day,
# within this many steps; longer days are chained greedily.
REORDER_SEARCH_ROWS = 200
REORDER_BUDGET = 20_000

ReconciliationStatus = Literal["passed", "failed", "not_possible"]
# How a file's balances move with its amounts. A bank account's balance rises with a deposit; the
# balance of a card statement is the amount owed, which a purchase (a negative amount) raises.
BalanceSense = Literal["bank", "owed"]


@dataclass(frozen=True)
class Reconciliation:
    """The outcome of reconciling one statement: `difference` is computed minus stated, in cents."""

    status: ReconciliationStatus
    difference: Decimal | None = None
    first_bad_row: int | None = None
    detail: str = ""

    @property
    def failed(self) -> bool:
        return self.status == "failed"


@dataclass(frozen=True)
class _Account:
    """One account's transactions (file order) and the balances the file states for it."""

    name: str | None
    transactions: tuple[Transaction, ...]
    opening: Decimal | None
    closing: Decimal | None


@dataclass(frozen=True)
class _Outcome:
    checks: int  # how many comparisons with a stated balance were made
    difference: Decimal | None = None  # set when one failed
    bad_row: int | None = None
    detail: str = ""
    reordered_days: int = 0  # days whose rows only reconcile in another same-day order


def _accounts(parsed: ParsedStatement) -> list[_Account]:
    """Split the statement into the accounts whose balances are checked separately."""
    if len(parsed.account_balances) > 1:
        by_name: dict[str | None, list[Transaction]] = defaultdict(list)
        for t in parsed.transactions:
            by_name[t.account].append(t)
        return [
            _Account(b.account, tuple(by_name.get(b.account, ())), b.opening_balance, b.closing_balance)
            for b in parsed.account_balances
        ]
    opening = None if parsed.opening_balance_derived else parsed.opening_balance
    closing = parsed.closing_balance
    if len(parsed.account_balances) == 1:
        only = parsed.account_balances[0]
        opening = only.opening_balance if only.opening_balance is not None else opening
        closing = only.closing_balance if only.closing_balance is not None else closing
    return [_Account(None, parsed.transactions, opening, closing)]


def _step(balance: Decimal, amount: Decimal, sense: BalanceSense) -> Decimal:
    return balance + amount if sense == "bank" else balance - amount


def _check_running(account: _Account, positions: dict[int, int], sense: BalanceSense) -> _Outcome:
    """Walk the running balance day by day.

    Within one day the file's order is tried first. Some banks list a day's rows in an order of
    their own (credits first, by amount, by posting time); when the file's order does not add up
    but another order of that same day's rows does (each row's balance = the previous one +
    its amount), the day is accepted. Rows are never moved across days. When no order works the
    failure is reported in the file's order: the first row whose balance does not follow.
    """
    current = account.opening
    checks = 0
    reordered = 0
    for _day, rows_iter in groupby(account.transactions, key=lambda t: t.date):
        rows = list(rows_iter)
        outcome, after, compared = _walk(rows, current, positions, sense)
        if outcome is not None:
            chained = _reorder(rows, current, sense) if current is not None else None
            if chained is None:
                return _Outcome(checks + compared, *outcome)
            reordered += 1
            after, compared = chained, sum(1 for t in rows if t.balance is not None)
        checks += compared
        current = after
    return _Outcome(checks, reordered_days=reordered)


def _walk(
    rows: Sequence[Transaction], current: Decimal | None, positions: dict[int, int], sense: BalanceSense
) -> tuple[tuple[Decimal, int, str] | None, Decimal | None, int]:
    """The rows in file order: (difference, row, detail) of the first mismatch, or None."""
    compared = 0
    for t in rows:
        expected = None if current is None else _step(current, t.amount, sense)
        if t.balance is None:
            current = expected
            continue
        if expected is not None:
            compared += 1
            difference = round_half_up(expected - t.balance)
            if difference:
                row = t.row_number(positions[id(t)])
                detail = (
                    f"Row {row} ({t.date.isoformat()}): the previous balance {money_text(current or Decimal(0))} "
                    f"and the amount {money_text(t.amount)} give {money_text(expected)}, but the file states "
                    f"{money_text(t.balance)} (a difference of {money_text(difference)})."
                )
                return (difference, row, detail), None, compared
        current = t.balance
    return None, current, compared


def _reorder(rows: Sequence[Transaction], start: Decimal, sense: BalanceSense) -> Decimal | None:
    """The day's closing balance if some order of its rows chains from `start`, else None.

    A depth-first search over the day's distinct (amount, balance) rows, the file's order tried
    first, remembering dead ends and giving up after REORDER_BUDGET steps; days longer than
    REORDER_SEARCH_ROWS rows are chained greedily instead. Only days where every row states a
    balance are reordered.
    """
    if any(t.balance is None for t in rows):
        return None
    if len(rows) > REORDER_SEARCH_ROWS:
        return _chain_greedily(rows, start, sense)
    counts = Counter((t.amount, t.balance) for t in rows)
    kinds = list(counts)  # first appearance in the file first
    left = [counts[kind] for kind in kinds]
    dead: set[tuple[Decimal, tuple[int, ...]]] = set()
    budget = [REORDER_BUDGET]

    def search(current: Decimal, remaining: int) -> Decimal | None:
        if remaining == 0:
            return current
        state = (current, tuple(left))
        if state in dead or budget[0] <= 0:
            return None
        budget[0] -= 1
        for index, (amount, balance) in enumerate(kinds):
            if (
                left[index]
                and balance is not None
                and round_half_up(_step(current, amount, sense) - balance) == 0
            ):
                left[index] -= 1
                found = search(balance, remaining - 1)
                left[index] += 1
                if found is not None:
                    return found
        dead.add(state)
        return None

    return search(start, len(rows))


def _chain_greedily(rows: Sequence[Transaction], start: Decimal, sense: BalanceSense) -> Decimal | None:
    """At each step the first remaining row whose balance follows from the current one."""
    remaining = list(rows)
    current = start
    while remaining:
        for index, t in enumerate(remaining):
            if t.balance is not None and round_half_up(_step(current, t.amount, sense) - t.balance) == 0:
                current = t.balance
                del remaining[index]
                break
        else:
            return None
    return current


def _check_account(account: _Account, positions: dict[int, int], sense: BalanceSense) -> _Outcome:
    running = _check_running(account, positions, sense)
    if running.difference is not None:
        return running
    opening = account.opening
    if opening is None:
        # Without a stated opening balance, the first stated running balance anchors the totals.
        opening = implied_opening(account.transactions, sense)
    if opening is None or account.closing is None:
        return running
    total = sum((t.amount for t in account.transactions), Decimal(0))
    computed = _step(opening, total, sense)
    difference = round_half_up(computed - account.closing)
    checks = running.checks + 1
    if difference:
        where = f" of account {account.name}" if account.name else ""
        return _Outcome(
            checks,
            difference,
            None,
            f"The opening balance{where} {money_text(opening)} and the amounts ({money_text(total)} in all) give a "
            f"closing balance of {money_text(computed)}, but the file states {money_text(account.closing)} "
            f"(a difference of {money_text(difference)}).",
        )
    return _Outcome(checks, reordered_days=running.reordered_days)


def implied_opening(transactions: Sequence[Transaction], sense: BalanceSense = "bank") -> Decimal | None:
    """The balance before the first transaction, from the first row that states one."""
    moved = Decimal(0)
    for t in transactions:
        moved += t.amount
        if t.balance is not None:
            # balance = opening ± moved  →  opening = balance ∓ moved
            return t.balance - moved if sense == "bank" else t.balance + moved
    return None


def _reconcile_with(parsed: ParsedStatement, sense: BalanceSense) -> _Outcome:
    positions = {id(t): i for i, t in enumerate(parsed.transactions, start=1)}
    checks = 0
    reordered = 0
    for account in _accounts(parsed):
        outcome = _check_account(account, positions, sense)
        if outcome.difference is not None:
            return _Outcome(checks + outcome.checks, outcome.difference, outcome.bad_row, outcome.detail)
        checks += outcome.checks
        reordered += outcome.reordered_days
    return _Outcome(checks, reordered_days=reordered)


def _not_possible_reason(parsed: ParsedStatement) -> str:
    has_running = any(t.balance is not None for t in parsed.transactions)
    opening = (parsed.opening_balance is not None and not parsed.opening_balance_derived) or any(
        b.opening_balance is not None for b in parsed.account_balances
    )
    closing = parsed.closing_balance is not None or any(
        b.closing_balance is not None for b in parsed.account_balances
    )
    if has_running:
        return (
            "The file's running balances cannot be compared with anything: only one row states a "
            "balance and the file gives no opening or closing balance."
        )
    if opening and not closing:
        return "The file states an opening balance but no closing balance and no running balance."
    if closing and not opening:
        return "The file states a closing balance but no opening balance and no running balance."
    return (
        "The file states no balances (no opening or closing balance and no running balance column), "
        "so its amounts cannot be checked against them."
    )


def reconcile(parsed: ParsedStatement) -> Reconciliation:
    """Check the statement's amounts against every balance it states; see the module docstring.

    Card statements (`account_type == "credit_card"`) state the amount owed, which moves
    opposite to a bank balance (a purchase, a negative amount, raises it). Parsers may hand
    either sense over, so both are tried and the one under which the file adds up is kept;
    when neither does, the failure reported is the one that gets further through the file.
    """
    senses: tuple[BalanceSense, ...] = ("owed", "bank") if parsed.account_type == "credit_card" else ("bank",)
    outcomes = [(sense, _reconcile_with(parsed, sense)) for sense in senses]
    if all(outcome.checks == 0 for _, outcome in outcomes):
        return Reconciliation("not_possible", detail=_not_possible_reason(parsed))
    for sense, outcome in outcomes:
        if outcome.difference is None and outcome.checks:
            return Reconciliation("passed", Decimal("0.00"), None, _passed_detail(parsed, outcome, sense))
    sense, worst = max(outcomes, key=lambda item: (item[1].checks, item[0] == senses[0]))
    # Only a card statement is ever read in the "owed" sense.
    detail = worst.detail + (" (Balances read as the amount owed on the card.)" if sense == "owed" else "")
    return Reconciliation("failed", worst.difference, worst.bad_row, detail)


def _passed_detail(parsed: ParsedStatement, outcome: _Outcome, sense: BalanceSense) -> str:
    agree = "balances agree" if outcome.checks != 1 else "balance agrees"
    parts = [f"{outcome.checks} stated {agree} with the amounts"]
    if outcome.reordered_days:
        parts.append(
            f"on {outcome.reordered_days} day{'s' if outcome.reordered_days != 1 else ''} the rows add up "
            "in another order than the file lists them (same-day order)"
        )
    if parsed.account_type == "credit_card":
        parts.append("balances read as the amount owed" if sense == "owed" else "balances read in bank sense")
    return "; ".join(parts) + "."
