"""Safe proposals: approval is never proposed on unreconciled, too-short or underwater data."""

from __future__ import annotations

import datetime
from decimal import Decimal

from deals.parsing import Transaction
from deals.underwriting import (
    MIN_HISTORY_DAYS,
    approval_blockers,
    compute_metrics,
    gate_recommendation,
    score_deal,
    screen_transactions,
)
from tests.deals.test_underwriting import EXAMPLE_1, EXAMPLE_2, example_1, example_2

START = datetime.date(2024, 1, 1)


def healthy(days: int = 60, opening: str = "50000") -> tuple[list[Transaction], Decimal]:
    rows = [
        Transaction(START + datetime.timedelta(days=d), "CARD SETTLEMENT", Decimal("2000"))
        for d in range(days)
    ]
    return rows, Decimal(opening)


def score_of(rows: list[Transaction], opening: Decimal):
    return score_deal([compute_metrics(rows, opening_balance=opening)], [screen_transactions(rows)])


def test_a_healthy_long_reconciled_history_keeps_its_approval():
    score = score_of(*healthy())
    assert score.recommendation == "approved"
    assert gate_recommendation(score, history_days=60) is score


def test_a_history_shorter_than_the_minimum_is_not_proposed_for_approval():
    # Example 2 of docs/underwriting.md scores 91.4 on 21 days: a provisional score.
    score = score_deal([example_2()], [screen_transactions(EXAMPLE_2)])
    assert score.recommendation == "approved"
    gated = gate_recommendation(score, history_days=21)
    assert gated.recommendation == "declined"
    assert gated.score == score.score  # the score itself is unchanged
    assert gated.reasons[0] == "Not proposed for approval although score 91.4 meets the approval rules:"
    assert (
        gated.reasons[1] == "Only 21 days of history, less than the 30-day minimum: the score is provisional."
    )
    assert MIN_HISTORY_DAYS == 30


def test_a_failed_reconciliation_blocks_approval():
    score = score_of(*healthy())
    gated = gate_recommendation(score, history_days=60, unreconciled=["statement 7 (march.csv)"])
    assert gated.recommendation == "declined"
    assert "statement 7 (march.csv) do not add up" in gated.reasons[1]


def test_an_average_daily_balance_at_or_below_zero_blocks_approval():
    # Deposits are strong, but the account sits deep below zero the whole time.
    rows, _ = healthy()
    score = score_of(rows, Decimal("-1000000"))
    assert score.figures is not None
    assert score.figures.average_daily_balance <= 0
    blockers = approval_blockers(score.figures, history_days=60)
    assert any("average daily balance" in b for b in blockers)
    assert any("below zero on 100% of days" in b for b in blockers)
    assert gate_recommendation(score, history_days=60).recommendation == "declined"


def test_most_days_negative_blocks_approval_even_with_a_positive_average():
    days = 40
    # 10 days at +10,000.00, then 30 days at -100.00: positive on average, negative on 75% of days.
    rows = [
        Transaction(START, "BIG DEPOSIT", Decimal("10000")),
        Transaction(START + datetime.timedelta(days=10), "TRANSFER OUT", Decimal("-10100")),
        Transaction(START + datetime.timedelta(days=days - 1), "CARD SETTLEMENT", Decimal("0.01")),
    ]
    score = score_of(rows, Decimal("0"))
    assert score.figures is not None
    assert score.figures.average_daily_balance > 0
    assert score.figures.negative_day_share >= Decimal("0.5")
    blockers = approval_blockers(score.figures, history_days=days)
    assert blockers == [
        f"The balance ends below zero on {score.figures.negative_day_share:.0%} of days (50% or more)."
    ]


def test_a_declined_score_keeps_its_reasons_and_adds_the_blockers():
    score = score_deal([example_1()], [screen_transactions(EXAMPLE_1)])
    assert score.recommendation == "declined"
    gated = gate_recommendation(score, history_days=14)
    assert gated.reasons[: len(score.reasons)] == score.reasons
    assert gated.reasons[-1].startswith("Only 14 days of history")
