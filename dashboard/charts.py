"""The deal page's money pictures: daily balances, monthly figures and their SVG geometry.

Pure functions over a deal's stored statements and transactions (deals.models), so the charts,
the monthly scorecard and their text alternatives all show the same numbers. The page draws the
geometry as inline SVG (no script, no inline style: the CSP forbids both).
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from deals.models import Statement, Transaction, TransactionCategory
from deals.underwriting import end_of_day_balances

# The drawing area every chart uses, in SVG user units; the CSS scales it to the card's width.
WIDTH = 640
HEIGHT = 200
PAD_LEFT = 8
PAD_RIGHT = 8
PAD_TOP = 10
PAD_BOTTOM = 22
PLOT_WIDTH = WIDTH - PAD_LEFT - PAD_RIGHT
PLOT_HEIGHT = HEIGHT - PAD_TOP - PAD_BOTTOM


@dataclass(frozen=True)
class DayBalance:
    date: datetime.date
    balance: Decimal


@dataclass
class MonthFigures:
    """One calendar month of the deal, as the scorecard and the bar charts show it."""

    month: str  # "2026-01"
    deposits: Decimal = Decimal(0)  # all money in
    withdrawals: Decimal = Decimal(0)  # all money out, positive
    revenue: Decimal = Decimal(0)  # deposits counted as revenue
    revenue_count: int = 0
    lender_repayments: Decimal = Decimal(0)  # positive
    nsf_items: int = 0
    negative_days: int = 0
    average_daily_balance: Decimal | None = None
    ending_balance: Decimal | None = None
    _balances: list[Decimal] = field(default_factory=list, repr=False)

    @property
    def label(self) -> str:
        """The month as people write it: "Jan 2024"."""
        return datetime.date.fromisoformat(f"{self.month}-01").strftime("%b %Y")


def daily_balances(statements: Iterable[Statement], transactions: Iterable[Transaction]) -> list[DayBalance]:
    """End-of-day balance of every day the counted statements cover, all accounts pooled.

    Each statement walks its own period exactly as the scorer does (deals.underwriting); the
    statements' balances are added day by day, so two accounts over the same month are pooled
    and consecutive months of one account follow each other. A statement the score does not
    count (a repeat of another, another currency) is left out, or it would count twice.
    """
    by_statement: dict[int, list[Transaction]] = defaultdict(list)
    for t in transactions:
        by_statement[t.statement_id].append(t)
    totals: dict[datetime.date, Decimal] = defaultdict(Decimal)
    for statement in statements:
        rows = sorted(by_statement.get(statement.pk, []), key=lambda t: (t.date, t.position))
        if not statement.counted or not rows:
            continue
        start = min(rows[0].date, statement.period_start or rows[0].date)
        end = max(rows[-1].date, statement.period_end or rows[-1].date)
        metrics = statement.metrics or {}
        opening = Decimal(str(metrics["starting_balance"])) if metrics.get("starting_balance") else None
        days = (end - start).days + 1
        # Stored rows carry the fields the scorer reads (date, amount, balance, account).
        balances, _, _ = end_of_day_balances(rows, start, days, opening)  # type: ignore[arg-type]
        for offset, balance in enumerate(balances):
            totals[start + datetime.timedelta(days=offset)] += balance
    return [DayBalance(day, totals[day].quantize(Decimal("0.01"))) for day in sorted(totals)]


def monthly_figures(
    statements: Iterable[Statement], transactions: Sequence[Transaction], balances: Sequence[DayBalance]
) -> list[MonthFigures]:
    """Per calendar month: money in and out, revenue, lender repayments, NSF items and balances."""
    counted = {statement.pk for statement in statements if statement.counted}
    months: dict[str, MonthFigures] = {}

    def month_of(day: datetime.date) -> MonthFigures:
        key = day.strftime("%Y-%m")
        if key not in months:
            months[key] = MonthFigures(key)
        return months[key]

    for day in balances:
        row = month_of(day.date)
        row._balances.append(day.balance)
        row.ending_balance = day.balance
        if day.balance < 0:
            row.negative_days += 1
    for t in transactions:
        if t.statement_id not in counted:
            continue
        row = month_of(t.date)
        if t.amount > 0:
            row.deposits += t.amount
        else:
            row.withdrawals -= t.amount
        if t.counted_as_revenue:
            row.revenue += t.amount
            row.revenue_count += 1
        if t.category == TransactionCategory.LENDER_REPAYMENT:
            row.lender_repayments -= t.amount
        if "nsf" in (t.flags or []):
            row.nsf_items += 1
    for row in months.values():
        if row._balances:
            average = sum(row._balances, Decimal(0)) / len(row._balances)
            row.average_daily_balance = average.quantize(Decimal("0.01"))
    return [months[key] for key in sorted(months)]


def average_monthly_revenue(months: Sequence[MonthFigures], balances: Sequence[DayBalance]) -> Decimal | None:
    """Revenue per 30 days over the days the statements cover (None with no revenue days)."""
    if not balances:
        return None
    revenue = sum((row.revenue for row in months), Decimal(0))
    return (revenue / len(balances) * 30).quantize(Decimal("0.01"))


def requested_to_revenue(amount_requested: Decimal | None, monthly_revenue: Decimal | None) -> Decimal | None:
    """Amount requested ÷ average monthly revenue (docs/dashboard.md, "Amount against revenue")."""
    if amount_requested is None or not monthly_revenue or monthly_revenue <= 0:
        return None
    return (amount_requested / monthly_revenue).quantize(Decimal("0.01"))


# --- geometry -----------------------------------------------------------------------------------


def _scale(low: Decimal, high: Decimal) -> tuple[Decimal, Decimal]:
    """A value range that always includes zero and never has zero width."""
    low, high = min(low, Decimal(0)), max(high, Decimal(0))
    if high == low:
        high = low + 1
    return low, high


def _y(value: Decimal, low: Decimal, high: Decimal) -> float:
    return round(PAD_TOP + float((high - value) / (high - low)) * PLOT_HEIGHT, 1)


def balance_chart(balances: Sequence[DayBalance]) -> dict[str, Any] | None:
    """A line of end-of-day balances with a zero line; days below zero get a mark under it."""
    if not balances:
        return None
    low, high = _scale(min(d.balance for d in balances), max(d.balance for d in balances))
    step = PLOT_WIDTH / max(len(balances) - 1, 1)
    points = []
    negative = []
    for index, day in enumerate(balances):
        x = round(PAD_LEFT + index * step, 1)
        y = _y(day.balance, low, high)
        points.append(f"{x},{y}")
        if day.balance < 0:
            negative.append({"mark_x": round(x - 2, 1), "date": day.date, "balance": day.balance})
    zero = _y(Decimal(0), low, high)
    return {
        "width": WIDTH,
        "height": HEIGHT,
        # Marks of days below zero run from the zero line to the bottom of the plot.
        "mark_height": round(PAD_TOP + PLOT_HEIGHT - zero, 1),
        "points": " ".join(points),
        "zero_y": zero,
        "left": PAD_LEFT,
        "right": WIDTH - PAD_RIGHT,
        "negative": negative,
        "low": min(d.balance for d in balances),
        "high": max(d.balance for d in balances),
        "first": balances[0].date,
        "last": balances[-1].date,
        "label_y": HEIGHT - 6,
    }


def bar_chart(months: Sequence[MonthFigures], series: Sequence[tuple[str, str]]) -> dict[str, Any] | None:
    """Grouped bars: per month one bar per (attribute, css class) of `series`, all from zero."""
    if not months:
        return None
    high = max((getattr(row, name) for row in months for name, _ in series), default=Decimal(0))
    low, high = _scale(Decimal(0), high)
    slot = PLOT_WIDTH / len(months)
    bar = slot * 0.8 / len(series)
    zero = _y(Decimal(0), low, high)
    groups = []
    for index, row in enumerate(months):
        bars = []
        for position, (name, css) in enumerate(series):
            value: Decimal = getattr(row, name)
            top = _y(value, low, high)
            bars.append(
                {
                    "name": name,
                    "css": css,
                    "value": value,
                    "x": round(PAD_LEFT + index * slot + slot * 0.1 + position * bar, 1),
                    "y": top,
                    "width": round(bar, 1),
                    "height": round(zero - top, 1),
                }
            )
        groups.append(
            {
                "month": row.month,
                "label": row.label,
                "bars": bars,
                "label_x": round(PAD_LEFT + (index + 0.5) * slot, 1),
            }
        )
    return {"width": WIDTH, "height": HEIGHT, "zero_y": zero, "groups": groups, "label_y": HEIGHT - 6}
