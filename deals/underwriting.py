"""Stages "screening" and "scoring": red flags in a statement, its metrics, and a deal's health score.

Pure functions over `Transaction`s. Every rule, threshold and weight here is documented in
docs/underwriting.md with worked examples; change the two together.

One module although long: it changes for one reason, the underwriting rules of that document.
Screening's counts and the metrics are what the score weighs, so a threshold moved on one side
is checked against the other in the same place.
"""

from __future__ import annotations

import dataclasses
import datetime
import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import pairwise
from typing import Any, Literal, get_args

from deals.categories import (
    EventKind,
    categorize_all,
    categorize_statement,
    classify_event,
    lender_name,
    revenue_mask,
)
from deals.parsing.statement import ParsedStatement, Transaction, money_text, round_half_up
from deals.reconciliation import implied_opening

# --- Thresholds and weights (docs/underwriting.md, "Constants") ---------------------------------

RECURRING_MIN_DEBITS = 3  # debits to one lender before they count as a recurring position
DAILY_MAX_MEDIAN_GAP = 3  # days; business-day debits over weekends have gaps of 1 and 3
WEEKLY_MAX_MEDIAN_GAP = 10  # days; weekly debits shifted by a holiday stay within 10
CONCENTRATION_SHARE = Decimal("0.50")  # a single deposit above this share of all deposits

REVENUE_POINTS = Decimal(25)
REVENUE_FULL_AT = Decimal(30_000)  # deposits per 30 days earning full revenue points
BALANCE_POINTS = Decimal(20)
BALANCE_FULL_RATIO = Decimal("0.25")  # average daily balance / deposits per 30 days
EVENT_POINTS = Decimal(20)
EVENT_PENALTY = Decimal(5)  # points lost per NSF/overdraft/returned event per 30 days
NEGATIVE_POINTS = Decimal(15)
NEGATIVE_ZERO_AT = Decimal("0.20")  # share of negative-balance days that loses all points
VOLATILITY_POINTS = Decimal(10)
VOLATILITY_FULL_AT = Decimal("0.25")  # coefficient of variation at or below: full points
VOLATILITY_ZERO_AT = Decimal("1.00")  # at or above: no points
LENDER_POINTS = {0: Decimal(10), 1: Decimal(5)}  # two or more recurring lenders: 0

APPROVE_MIN_SCORE = Decimal(60)
APPROVE_MIN_DEPOSITS_30 = Decimal(5_000)
DECLINE_MIN_LENDERS = 2

# Safe proposals (docs/underwriting.md, "Floors on proposals"): whatever the score, never propose
# approval on less history than this, on an average daily balance at or below the floor, or when
# at least this share of days ends below zero.
MIN_HISTORY_DAYS = 30
FLOOR_AVERAGE_DAILY_BALANCE = Decimal(0)
FLOOR_NEGATIVE_DAY_SHARE = Decimal("0.50")

RATIO = Decimal("0.0001")
ONE_DECIMAL = Decimal("0.1")

FlagCode = Literal[
    "nsf",
    "overdraft",
    "returned_item",
    "negative_balance",
    "loan_stacking",
    "multiple_lenders",
    "deposit_concentration",
    "low_revenue",
]
# Flags are reported in the order FlagCode lists them.
FLAG_ORDER: tuple[FlagCode, ...] = get_args(FlagCode)


def _clamp(value: Decimal, low: Decimal, high: Decimal) -> Decimal:
    return max(low, min(high, value))


# --- Screening -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Finding:
    """One red flag with the transactions that show it.

    `evidence` is filled when the statement's transactions are stored (deals.evidence), so it
    can name them by id; screening itself leaves it empty.
    """

    code: FlagCode
    explanation: str
    transactions: tuple[Transaction, ...] = ()
    evidence: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class LenderDebits:
    """Recurring debits to one lender: an existing financing position."""

    lender: str
    cadence: Literal["daily", "weekly"]
    count: int
    total: Decimal  # positive: the money paid out
    typical_amount: Decimal  # median debit, positive
    first_date: datetime.date
    last_date: datetime.date


@dataclass(frozen=True)
class Screening:
    """What screening found in one statement."""

    findings: tuple[Finding, ...]
    nsf_count: int
    overdraft_count: int
    returned_count: int
    lender_debits: tuple[LenderDebits, ...]

    @property
    def flags(self) -> list[str]:
        return [f.code for f in self.findings]


def find_lender_debits(transactions: Iterable[Transaction]) -> tuple[LenderDebits, ...]:
    """Recurring daily or weekly debits to lender-like names, largest total first."""
    by_lender: dict[str, list[Transaction]] = defaultdict(list)
    for t in transactions:
        if t.amount < 0:
            name = lender_name(t.description)
            if name:
                by_lender[name].append(t)
    found: list[LenderDebits] = []
    for name, debits in by_lender.items():
        days = sorted({t.date for t in debits})
        if len(days) < RECURRING_MIN_DEBITS:
            continue
        gap = statistics.median((b - a).days for a, b in pairwise(days))
        if gap <= DAILY_MAX_MEDIAN_GAP:
            cadence: Literal["daily", "weekly"] = "daily"
        elif gap <= WEEKLY_MAX_MEDIAN_GAP:
            cadence = "weekly"
        else:
            continue
        amounts = [-t.amount for t in debits]
        found.append(
            LenderDebits(
                lender=name,
                cadence=cadence,
                count=len(debits),
                total=sum(amounts, Decimal(0)),
                typical_amount=statistics.median(amounts),
                first_date=days[0],
                last_date=days[-1],
            )
        )
    return tuple(sorted(found, key=lambda lender: (-lender.total, lender.lender)))


def _revenue_only(transactions: Sequence[Transaction], revenue: Sequence[bool] | None) -> list[Transaction]:
    """The transactions that count as revenue (the revenue definition lives in deals.categories)."""
    mask = revenue if revenue is not None else revenue_mask(transactions, categorize_all(transactions))
    # Only money in can be revenue, whatever a mask says.
    return [t for t, counted in zip(transactions, mask, strict=True) if counted and t.amount > 0]


def _largest_deposit(transactions: Iterable[Transaction]) -> tuple[Transaction | None, Decimal]:
    deposits = [t for t in transactions if t.amount > 0]
    # The first of equal largest deposits, as the file lists them.
    largest = max(deposits, key=lambda t: t.amount, default=None)
    return largest, sum((t.amount for t in deposits), Decimal(0))


def screen_transactions(
    transactions: Sequence[Transaction], *, revenue: Sequence[bool] | None = None
) -> Screening:
    """Find NSF/overdraft/returned-item events, recurring lender debits and deposit concentration.

    `revenue` says which transactions count as revenue (deals.categories, one per transaction);
    concentration is measured on those. Without it, the default categories decide.
    """
    events: dict[EventKind, list[Transaction]] = {"nsf": [], "overdraft": [], "returned_item": []}
    for t in transactions:
        kind = classify_event(t.description)
        if kind:
            events[kind].append(t)
    findings: list[Finding] = []
    labels = {
        "nsf": "NSF / insufficient-funds",
        "overdraft": "overdraft",
        "returned_item": "returned-item",
    }
    for kind, hits in events.items():
        if hits:
            dates = ", ".join(sorted({t.date.isoformat() for t in hits})[:5])
            findings.append(
                Finding(
                    kind,
                    f"{len(hits)} {labels[kind]} event{'s' if len(hits) != 1 else ''} (on {dates}"
                    f"{', ...' if len({t.date for t in hits}) > 5 else ''}).",
                    tuple(hits),
                )
            )
    lenders = find_lender_debits(transactions)
    if lenders:
        described = "; ".join(
            f"{lender.cadence} debits to {lender.lender} ({lender.count} debits, {money_text(lender.total)} total)"
            for lender in lenders
        )
        recurring = {lender.lender for lender in lenders}
        findings.append(
            Finding(
                "loan_stacking",
                f"Recurring {described}: an existing financing position, so a new advance would stack on it.",
                tuple(t for t in transactions if t.amount < 0 and lender_name(t.description) in recurring),
            )
        )
    if len(lenders) >= DECLINE_MIN_LENDERS:
        findings.append(
            Finding("multiple_lenders", f"{len(lenders)} lenders are being repaid at the same time.")
        )
    largest, total = _largest_deposit(_revenue_only(transactions, revenue))
    if largest is not None and largest.amount / total > CONCENTRATION_SHARE:
        share = round_half_up(largest.amount / total * 100, ONE_DECIMAL)
        findings.append(
            Finding(
                "deposit_concentration",
                f"One deposit of {money_text(largest.amount)} on {largest.date.isoformat()} is {share}% "
                "of all deposits.",
                (largest,),
            )
        )
    return Screening(
        findings=tuple(findings),
        nsf_count=len(events["nsf"]),
        overdraft_count=len(events["overdraft"]),
        returned_count=len(events["returned_item"]),
        lender_debits=lenders,
    )


# --- Metrics -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StatementMetrics:
    """The numbers one statement contributes to a deal's score."""

    period_start: datetime.date
    period_end: datetime.date
    days: int
    transaction_count: int
    balances_derived: bool  # True when the file had no balances and they were computed from amounts
    starting_balance: Decimal
    ending_balance: Decimal
    average_daily_balance: Decimal
    lowest_balance: Decimal
    negative_balance_days: int
    total_deposits: Decimal
    deposit_count: int
    total_withdrawals: Decimal  # positive
    monthly_deposits: dict[str, Decimal]
    average_deposits_per_30_days: Decimal
    largest_deposit: Decimal
    largest_deposit_share: Decimal | None  # None when there are no deposits
    deposit_volatility: Decimal | None  # CV of weekly deposits; None with < 2 full weeks or none
    nsf_count: int
    overdraft_count: int
    returned_count: int
    lender_debit_count: int
    lender_debit_total: Decimal
    lenders: tuple[str, ...]
    # Money in that is not revenue (own transfers, lender funding, …); defaulted for metrics
    # stored before revenue was told apart from deposits.
    non_revenue_deposits: Decimal = Decimal(0)

    @property
    def event_count(self) -> int:
        return self.nsf_count + self.overdraft_count + self.returned_count


def end_of_day_balances(
    transactions: Sequence[Transaction],
    start: datetime.date,
    days: int,
    opening_balance: Decimal | None,
) -> tuple[list[Decimal], Decimal, bool]:
    """End-of-day balance of every calendar day (all accounts pooled), the starting balance, and
    whether the balances were derived from amounts because the file gave none."""
    derived = all(t.balance is None for t in transactions)
    by_account: dict[str, list[Transaction]] = defaultdict(list)
    for t in transactions:
        by_account[t.account or ""].append(t)
    # Each account walks its own amounts and snaps to the file's balance wherever one is given;
    # before its first given balance it starts from that balance minus the amounts up to it.
    starting = opening_balance if derived and opening_balance is not None else Decimal(0)
    change_by_day: dict[int, Decimal] = defaultdict(Decimal)
    for rows in by_account.values():
        implied = implied_opening(rows)  # None without any stated balance (derived balances)
        account_start = Decimal(0) if implied is None else implied
        starting += account_start
        running = account_start
        day_end: dict[datetime.date, Decimal] = {}
        for t in rows:
            running = t.balance if t.balance is not None else running + t.amount
            day_end[t.date] = running
        previous = account_start
        for day, value in day_end.items():
            change_by_day[(day - start).days] += value - previous
            previous = value
    balances: list[Decimal] = []
    current = starting
    for offset in range(days):
        current += change_by_day.get(offset, Decimal(0))
        balances.append(current)
    return balances, starting, derived


def _weekly_volatility(deposits: Sequence[Transaction], start: datetime.date, days: int) -> Decimal | None:
    weeks = days // 7
    if weeks < 2:
        return None
    totals = [Decimal(0)] * weeks
    for t in deposits:
        week = (t.date - start).days // 7
        if week < weeks:
            totals[week] += t.amount
    mean = sum(totals, Decimal(0)) / weeks
    if mean <= 0:
        return None
    variance = sum(((x - mean) ** 2 for x in totals), Decimal(0)) / weeks
    return round_half_up(variance.sqrt() / mean, RATIO)


def _months(start: datetime.date, end: datetime.date) -> list[str]:
    months = []
    year, month = start.year, start.month
    while (year, month) <= (end.year, end.month):
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def compute_metrics(
    transactions: Sequence[Transaction],
    *,
    revenue: Sequence[bool] | None = None,
    opening_balance: Decimal | None = None,
    period_start: datetime.date | None = None,
    period_end: datetime.date | None = None,
) -> StatementMetrics:
    """Metrics of one statement; see docs/underwriting.md for each definition.

    The period runs from the earlier of `period_start` and the first transaction to the later of
    `period_end` and the last one. `opening_balance` seeds derived balances when the file has none.
    Deposits are the revenue deposits: `revenue` says which transactions count (one flag per
    transaction, see deals.categories); without it the default categories decide.
    Raises ValueError for an empty statement (parsing never returns one).
    """
    if not transactions:
        raise ValueError("a statement needs at least one transaction")
    counted = {id(t) for t in _revenue_only(transactions, revenue)}
    ordered = sorted(transactions, key=lambda t: t.date)  # stable: keeps the file's order in a day
    start = min(ordered[0].date, period_start or ordered[0].date)
    end = max(ordered[-1].date, period_end or ordered[-1].date)
    days = (end - start).days + 1
    balances, starting, derived = end_of_day_balances(ordered, start, days, opening_balance)

    deposits = [t for t in ordered if id(t) in counted]
    total_deposits = sum((t.amount for t in deposits), Decimal(0))
    all_credits = sum((t.amount for t in ordered if t.amount > 0), Decimal(0))
    monthly = dict.fromkeys(_months(start, end), Decimal(0))
    for t in deposits:
        monthly[t.date.strftime("%Y-%m")] += t.amount
    largest, _ = _largest_deposit(deposits)
    lenders = find_lender_debits(ordered)
    events = [classify_event(t.description) for t in ordered]
    return StatementMetrics(
        period_start=start,
        period_end=end,
        days=days,
        transaction_count=len(ordered),
        balances_derived=derived,
        starting_balance=round_half_up(starting),
        ending_balance=round_half_up(balances[-1]),
        average_daily_balance=round_half_up(sum(balances, Decimal(0)) / days),
        lowest_balance=round_half_up(min(balances)),
        negative_balance_days=sum(1 for b in balances if b < 0),
        total_deposits=round_half_up(total_deposits),
        deposit_count=len(deposits),
        total_withdrawals=round_half_up(-sum((t.amount for t in ordered if t.amount < 0), Decimal(0))),
        monthly_deposits={month: round_half_up(v) for month, v in monthly.items()},
        average_deposits_per_30_days=round_half_up(total_deposits / days * 30),
        largest_deposit=round_half_up(largest.amount if largest else Decimal(0)),
        largest_deposit_share=round_half_up(largest.amount / total_deposits, RATIO) if largest else None,
        deposit_volatility=_weekly_volatility(deposits, start, days),
        nsf_count=events.count("nsf"),
        overdraft_count=events.count("overdraft"),
        returned_count=events.count("returned_item"),
        lender_debit_count=sum(lender.count for lender in lenders),
        lender_debit_total=round_half_up(sum((lender.total for lender in lenders), Decimal(0))),
        lenders=tuple(lender.lender for lender in lenders),
        non_revenue_deposits=round_half_up(all_credits - total_deposits),
    )


def compute_statement_metrics(
    statement: ParsedStatement, *, revenue: Sequence[bool] | None = None
) -> StatementMetrics:
    """`compute_metrics` with the opening balance, period and account type a parsed file states.

    `revenue`: which transactions count as revenue (from `categorize_statement`, or corrected
    by an underwriter); by default the statement's own categories decide.
    """
    if revenue is None:
        revenue = categorize_statement(statement)[1]
    return compute_metrics(
        statement.transactions,
        revenue=revenue,
        opening_balance=statement.opening_balance,
        period_start=statement.period_start,
        period_end=statement.period_end,
    )


# --- Scoring -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScoreComponent:
    """Points earned on one criterion, with the sentence that explains them."""

    name: str
    points: Decimal
    max_points: Decimal
    explanation: str


@dataclass(frozen=True)
class DealFigures:
    """The statements of one deal combined, as the score formula reads them."""

    days: int
    average_daily_balance: Decimal
    deposits_per_30_days: Decimal
    events_per_30_days: Decimal
    negative_day_share: Decimal
    deposit_volatility: Decimal | None
    lenders: tuple[str, ...]
    largest_deposit_share: Decimal | None


@dataclass(frozen=True)
class HealthScore:
    """A deal's score (0-100, one decimal), why, its flags, and the proposed decision."""

    score: Decimal
    explanations: list[str]
    flags: list[str]
    recommendation: Literal["approved", "declined"]
    reasons: list[str]
    components: tuple[ScoreComponent, ...] = ()
    figures: DealFigures | None = None


def combine_metrics(metrics: Sequence[StatementMetrics], screenings: Sequence[Screening]) -> DealFigures:
    """The deal-level figures: day-weighted averages and per-30-day rates over all statements."""
    days = sum(m.days for m in metrics)
    total_days = Decimal(days)
    deposits = sum((m.total_deposits for m in metrics), Decimal(0))
    measured = [(m.deposit_volatility, m.days) for m in metrics if m.deposit_volatility is not None]
    volatility = None
    if measured:
        weighted = sum((cv * span for cv, span in measured), Decimal(0))
        volatility = round_half_up(weighted / sum(span for _, span in measured), RATIO)
    lenders = sorted({lender.lender for s in screenings for lender in s.lender_debits})
    largest = max((m.largest_deposit for m in metrics), default=Decimal(0))
    return DealFigures(
        days=days,
        average_daily_balance=round_half_up(
            sum((m.average_daily_balance * m.days for m in metrics), Decimal(0)) / total_days
        ),
        deposits_per_30_days=round_half_up(deposits / total_days * 30),
        events_per_30_days=round_half_up(
            Decimal(sum(m.event_count for m in metrics)) / total_days * 30, RATIO
        ),
        negative_day_share=round_half_up(
            Decimal(sum(m.negative_balance_days for m in metrics)) / total_days, RATIO
        ),
        deposit_volatility=volatility,
        lenders=tuple(lenders),
        largest_deposit_share=round_half_up(largest / deposits, RATIO) if deposits > 0 else None,
    )


def score_components(figures: DealFigures) -> tuple[ScoreComponent, ...]:
    """The six scored criteria; each is rounded to cents of a point before they are added."""
    d30 = figures.deposits_per_30_days
    adb = figures.average_daily_balance

    revenue = REVENUE_POINTS * min(Decimal(1), d30 / REVENUE_FULL_AT)
    if d30 > 0 and adb > 0:
        balance = min(BALANCE_POINTS, BALANCE_POINTS / BALANCE_FULL_RATIO * adb / d30)
    else:
        balance = Decimal(0)
    events = max(Decimal(0), EVENT_POINTS - EVENT_PENALTY * figures.events_per_30_days)
    negative = NEGATIVE_POINTS * max(Decimal(0), 1 - figures.negative_day_share / NEGATIVE_ZERO_AT)
    cv = figures.deposit_volatility
    if cv is None:
        volatility = VOLATILITY_POINTS / 2
    else:
        span = VOLATILITY_ZERO_AT - VOLATILITY_FULL_AT
        volatility = VOLATILITY_POINTS * _clamp((VOLATILITY_ZERO_AT - cv) / span, Decimal(0), Decimal(1))
    lender_count = len(figures.lenders)
    lenders = LENDER_POINTS.get(lender_count, Decimal(0))

    def component(name: str, points: Decimal, maximum: Decimal, why: str) -> ScoreComponent:
        points = round_half_up(points)
        return ScoreComponent(name, points, maximum, f"{why}: {points} of {maximum} points.")

    return (
        component(
            "revenue",
            revenue,
            REVENUE_POINTS,
            f"Deposits average {money_text(d30)} per 30 days (full points from {money_text(REVENUE_FULL_AT)})",
        ),
        component(
            "average_daily_balance",
            balance,
            BALANCE_POINTS,
            f"Average daily balance {money_text(adb)} against {money_text(d30)} of deposits per 30 days "
            f"(full points at {BALANCE_FULL_RATIO:.0%} or more)",
        ),
        component(
            "nsf_overdraft_returns",
            events,
            EVENT_POINTS,
            f"{figures.events_per_30_days} NSF/overdraft/returned-item events per 30 days "
            f"({EVENT_PENALTY} points off for each)",
        ),
        component(
            "negative_balance_days",
            negative,
            NEGATIVE_POINTS,
            f"Balance below zero on {figures.negative_day_share:.2%} of days "
            f"(no points from {NEGATIVE_ZERO_AT:.0%})",
        ),
        component(
            "deposit_volatility",
            volatility,
            VOLATILITY_POINTS,
            "Not enough full weeks to measure deposit volatility"
            if cv is None
            else f"Weekly deposits vary by a coefficient of variation of {cv} "
            f"(full points up to {VOLATILITY_FULL_AT}, none from {VOLATILITY_ZERO_AT})",
        ),
        component(
            "other_lenders",
            lenders,
            LENDER_POINTS[0],
            "No recurring debits to other lenders"
            if lender_count == 0
            else f"Recurring debits to {lender_count} other lender{'s' if lender_count > 1 else ''} "
            f"({', '.join(figures.lenders)})",
        ),
    )


def _deal_flags(
    figures: DealFigures, metrics: Sequence[StatementMetrics], screenings: Sequence[Screening]
) -> list[str]:
    raised: set[str] = {flag for s in screenings for flag in s.flags}
    if any(m.negative_balance_days for m in metrics):
        raised.add("negative_balance")
    if len(figures.lenders) >= DECLINE_MIN_LENDERS:
        raised.add("multiple_lenders")
    if figures.deposits_per_30_days < APPROVE_MIN_DEPOSITS_30:
        raised.add("low_revenue")
    return [flag for flag in FLAG_ORDER if flag in raised]


def score_deal(metrics: Sequence[StatementMetrics], screenings: Sequence[Screening]) -> HealthScore:
    """Combine the statements of one deal into a health score and a proposed decision.

    Deterministic: the same inputs give the same score, explanations, flags and decision.
    """
    if not metrics:
        return HealthScore(
            score=Decimal("0.0"),
            explanations=["No statement of this deal could be read, so there is nothing to score."],
            flags=[],
            recommendation="declined",
            reasons=["No readable bank statement."],
        )
    figures = combine_metrics(metrics, screenings)
    components = score_components(figures)
    total = _clamp(sum((c.points for c in components), Decimal(0)), Decimal(0), Decimal(100))
    score = round_half_up(total, ONE_DECIMAL)

    reasons: list[str] = []
    if score < APPROVE_MIN_SCORE:
        reasons.append(f"Score {score} is below {APPROVE_MIN_SCORE}.")
    if figures.deposits_per_30_days < APPROVE_MIN_DEPOSITS_30:
        reasons.append(
            f"Deposits of {money_text(figures.deposits_per_30_days)} per 30 days are below the minimum of "
            f"{money_text(APPROVE_MIN_DEPOSITS_30)}."
        )
    if len(figures.lenders) >= DECLINE_MIN_LENDERS:
        reasons.append(f"Already repaying {len(figures.lenders)} lenders ({', '.join(figures.lenders)}).")
    recommendation: Literal["approved", "declined"] = "declined" if reasons else "approved"
    if not reasons:
        reasons.append(
            f"Score {score} is at least {APPROVE_MIN_SCORE}, deposits meet the minimum and "
            "no more than one other lender is being repaid."
        )
    # Each screening sentence once, in the order the statements raised it.
    found = dict.fromkeys(finding.explanation for s in screenings for finding in s.findings)
    explanations = [*(c.explanation for c in components), *found]
    return HealthScore(
        score=score,
        explanations=explanations,
        flags=_deal_flags(figures, metrics, screenings),
        recommendation=recommendation,
        reasons=reasons,
        components=components,
        figures=figures,
    )


# --- Safe proposals --------------------------------------------------------------------------------


def approval_blockers(
    figures: DealFigures | None, *, history_days: int, unreconciled: Sequence[str] = ()
) -> list[str]:
    """Plain reasons why the deal must not be proposed for approval, whatever its score.

    `history_days` are the calendar days the counted statements cover (overlaps once);
    `unreconciled` names the counted statements whose balances do not add up.
    """
    blockers: list[str] = []
    if unreconciled:
        blockers.append(
            f"The balances of {', '.join(unreconciled)} do not add up to the amounts read, so the "
            "numbers cannot be trusted."
        )
    if history_days < MIN_HISTORY_DAYS:
        blockers.append(
            f"Only {history_days} day{'s' if history_days != 1 else ''} of history, less than the "
            f"{MIN_HISTORY_DAYS}-day minimum: the score is provisional."
        )
    if figures is not None:
        if figures.average_daily_balance <= FLOOR_AVERAGE_DAILY_BALANCE:
            blockers.append(
                f"The average daily balance of {money_text(figures.average_daily_balance)} is not above "
                f"{money_text(FLOOR_AVERAGE_DAILY_BALANCE)}."
            )
        if figures.negative_day_share >= FLOOR_NEGATIVE_DAY_SHARE:
            blockers.append(
                f"The balance ends below zero on {figures.negative_day_share:.0%} of days "
                f"({FLOOR_NEGATIVE_DAY_SHARE:.0%} or more)."
            )
    return blockers


def gate_recommendation(
    score: HealthScore, *, history_days: int, unreconciled: Sequence[str] = ()
) -> HealthScore:
    """The score with a safe recommendation: `declined` whenever `approval_blockers` finds a reason.

    The score itself is unchanged; the reasons say in plain words why approval is not proposed.
    """
    blockers = approval_blockers(score.figures, history_days=history_days, unreconciled=unreconciled)
    if not blockers:
        return score
    if score.recommendation == "approved":
        reasons = [
            f"Not proposed for approval although score {score.score} meets the approval rules:",
            *blockers,
        ]
    else:
        reasons = [*score.reasons, *blockers]
    return dataclasses.replace(score, recommendation="declined", reasons=reasons)
