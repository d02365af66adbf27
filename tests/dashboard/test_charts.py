"""dashboard.charts: daily balances, monthly figures and chart geometry from stored rows."""

from __future__ import annotations

import datetime
from decimal import Decimal

from dashboard import charts
from deals.models import Statement, Transaction

D = Decimal


def _statement(
    pk: int, *, counted: bool = True, start: str = "", end: str = "", opening: str = ""
) -> Statement:
    return Statement(
        pk=pk,
        counted=counted,
        period_start=datetime.date.fromisoformat(start) if start else None,
        period_end=datetime.date.fromisoformat(end) if end else None,
        metrics={"starting_balance": opening} if opening else None,
    )


def _row(
    statement: int, position: int, day: str, amount: str, balance: str | None, **extra: object
) -> Transaction:
    return Transaction(
        statement_id=statement,
        position=position,
        date=datetime.date.fromisoformat(day),
        amount=D(amount),
        balance=D(balance) if balance is not None else None,
        category=str(extra.get("category", "other")),
        flags=list(extra.get("flags", [])),  # type: ignore[call-overload]
        counted_as_revenue=bool(extra.get("revenue", False)),
    )


def test_it_carries_the_balance_over_days_without_transactions() -> None:
    rows = [_row(1, 0, "2024-03-01", "100", "600"), _row(1, 1, "2024-03-04", "-800", "-200")]
    days = charts.daily_balances([_statement(1, end="2024-03-05")], rows)
    assert [(d.date.day, d.balance) for d in days] == [
        (1, D(600)),
        (2, D(600)),
        (3, D(600)),
        (4, D(-200)),
        (5, D(-200)),
    ]


def test_it_pools_two_accounts_and_leaves_out_an_uncounted_statement() -> None:
    rows = [
        _row(1, 0, "2024-03-01", "10", "110"),
        _row(2, 0, "2024-03-01", "5", "55"),
        _row(3, 0, "2024-03-01", "10", "110"),  # a repeat of statement 1
    ]
    statements = [_statement(1), _statement(2), _statement(3, counted=False)]
    assert [d.balance for d in charts.daily_balances(statements, rows)] == [D(165)]


def test_it_derives_balances_from_the_opening_balance_when_the_file_has_none() -> None:
    rows = [_row(1, 0, "2024-03-01", "-50", None), _row(1, 1, "2024-03-02", "20", None)]
    days = charts.daily_balances([_statement(1, opening="30")], rows)
    assert [d.balance for d in days] == [D(-20), D(0)]


def test_it_sums_each_month() -> None:
    rows = [
        _row(1, 0, "2024-01-30", "1000", "1000", category="card_settlement", revenue=True),
        _row(1, 1, "2024-01-31", "-1200", "-200", category="lender_repayment"),
        _row(1, 2, "2024-02-01", "-35", "-235", category="nsf_fee", flags=["nsf"]),
        _row(1, 3, "2024-02-02", "500", "265", category="own_transfer"),
    ]
    statements = [_statement(1)]
    balances = charts.daily_balances(statements, rows)
    january, february = charts.monthly_figures(statements, rows, balances)
    assert (january.month, january.deposits, january.withdrawals) == ("2024-01", D(1000), D(1200))
    assert (january.revenue, january.revenue_count, january.lender_repayments) == (D(1000), 1, D(1200))
    assert (january.negative_days, january.ending_balance, january.average_daily_balance) == (
        1,
        D(-200),
        D(400),
    )
    assert (february.revenue, february.deposits, february.nsf_items, february.negative_days) == (
        D(0),
        D(500),
        1,
        1,
    )
    assert february.average_daily_balance == D(15)
    assert february.label == "Feb 2024"
    # 1,000 of revenue over 4 days is 7,500 per 30 days; 15,000 requested is twice that.
    monthly = charts.average_monthly_revenue([january, february], balances)
    assert monthly == D("7500.00")
    assert charts.requested_to_revenue(D(15000), monthly) == D("2.00")
    assert charts.requested_to_revenue(D(15000), D(0)) is None
    assert charts.requested_to_revenue(None, monthly) is None


def test_it_draws_days_below_zero_under_the_zero_line() -> None:
    days = [
        charts.DayBalance(datetime.date(2024, 1, 1), D(100)),
        charts.DayBalance(datetime.date(2024, 1, 2), D(-100)),
        charts.DayBalance(datetime.date(2024, 1, 3), D(0)),
    ]
    chart = charts.balance_chart(days)
    assert chart is not None
    points = [tuple(float(v) for v in p.split(",")) for p in chart["points"].split()]
    assert points[0][1] < chart["zero_y"] < points[1][1]
    assert points[2][1] == chart["zero_y"]
    assert [mark["date"] for mark in chart["negative"]] == [datetime.date(2024, 1, 2)]
    assert chart["zero_y"] + chart["mark_height"] == charts.PAD_TOP + charts.PLOT_HEIGHT
    assert charts.balance_chart([]) is None


def test_it_scales_bars_to_the_largest_value() -> None:
    months = [
        charts.MonthFigures("2024-01", deposits=D(200), withdrawals=D(100)),
        charts.MonthFigures("2024-02"),
    ]
    chart = charts.bar_chart(months, [("deposits", "in"), ("withdrawals", "out")])
    assert chart is not None
    first = chart["groups"][0]["bars"]
    assert first[0]["height"] == charts.PLOT_HEIGHT
    assert first[1]["height"] == charts.PLOT_HEIGHT / 2
    assert first[0]["y"] + first[0]["height"] == chart["zero_y"]
    assert all(bar["height"] == 0 for bar in chart["groups"][1]["bars"])
    assert [bar["value"] for bar in first] == [D(200), D(100)]
    assert charts.bar_chart([], [("deposits", "in")]) is None
