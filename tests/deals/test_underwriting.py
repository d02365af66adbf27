"""Screening, metrics and the health score, on the worked examples of docs/underwriting.md."""

from __future__ import annotations

import datetime
import json
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deals.parsing import Transaction, extract_document, parse_document
from deals.stored import screening_json, to_json
from deals.underwriting import (
    StatementMetrics,
    classify_event,
    compute_metrics,
    compute_statement_metrics,
    find_lender_debits,
    lender_name,
    score_deal,
    screen_transactions,
)
from tests.deals.statement_files import csv_bytes


def day(month: int, dom: int, year: int = 2024) -> datetime.date:
    return datetime.date(year, month, dom)


def tx(date: datetime.date, description: str, amount: str, balance: str | None = None) -> Transaction:
    return Transaction(date, description, Decimal(amount), Decimal(balance) if balance is not None else None)


# Example 1 of docs/underwriting.md: 14 days, no balance column, opening balance 1,000.00.
EXAMPLE_1 = [
    tx(day(3, 1), "CARD SETTLEMENT", "4000.00"),
    tx(day(3, 3), "PAYROLL", "-3500.00"),
    tx(day(3, 6), "SUPPLIER", "-2000.00"),
    tx(day(3, 6), "NSF FEE", "-35.00"),
    tx(day(3, 8), "CARD SETTLEMENT", "2000.00"),
    tx(day(3, 14), "MONTHLY SERVICE FEE", "-15.00"),
]
# Example 2: 21 days with a running balance column and weekly debits to XYZ FUNDING.
EXAMPLE_2 = [
    tx(day(4, 1), "SQUARE DEPOSIT", "6000.00", "8000.00"),
    tx(day(4, 1), "ACH DEBIT XYZ FUNDING LLC 0401", "-500.00", "7500.00"),
    tx(day(4, 8), "SQUARE DEPOSIT", "6000.00", "13500.00"),
    tx(day(4, 8), "ACH DEBIT XYZ FUNDING LLC 0408", "-500.00", "13000.00"),
    tx(day(4, 15), "SQUARE DEPOSIT", "6000.00", "19000.00"),
    tx(day(4, 15), "ACH DEBIT XYZ FUNDING LLC 0415", "-500.00", "18500.00"),
    tx(day(4, 18), "PAYROLL", "-10000.00", "8500.00"),
]


def example_1() -> StatementMetrics:
    return compute_metrics(EXAMPLE_1, opening_balance=Decimal("1000.00"))


def example_2() -> StatementMetrics:
    return compute_metrics(EXAMPLE_2, period_end=day(4, 21))


def test_example_1_metrics_match_the_worked_arithmetic():
    m = example_1()
    assert (m.period_start, m.period_end, m.days) == (day(3, 1), day(3, 14), 14)
    assert m.balances_derived is True
    assert m.starting_balance == Decimal("1000.00")
    assert m.ending_balance == Decimal("1450.00")
    assert m.average_daily_balance == Decimal("1690.71")  # 23,670 / 14
    assert m.lowest_balance == Decimal("-535.00")
    assert m.negative_balance_days == 2
    assert m.total_deposits == Decimal("6000.00")
    assert m.deposit_count == 2
    assert m.total_withdrawals == Decimal("5550.00")
    assert m.monthly_deposits == {"2024-03": Decimal("6000.00")}
    assert m.average_deposits_per_30_days == Decimal("12857.14")
    assert m.largest_deposit == Decimal("4000.00")
    assert m.largest_deposit_share == Decimal("0.6667")
    assert m.deposit_volatility == Decimal("0.3333")  # weeks of 4,000 and 2,000
    assert (m.nsf_count, m.overdraft_count, m.returned_count) == (1, 0, 0)
    assert m.lenders == ()


def test_example_1_scores_53_7_and_is_declined():
    health = score_deal([example_1()], [screen_transactions(EXAMPLE_1)])
    assert [c.points for c in health.components] == [
        Decimal("10.71"),
        Decimal("10.52"),
        Decimal("9.29"),
        Decimal("4.28"),
        Decimal("8.89"),
        Decimal("10.00"),
    ]
    assert health.score == Decimal("53.7")
    assert health.recommendation == "declined"
    assert health.reasons == ["Score 53.7 is below 60."]
    assert health.flags == ["nsf", "negative_balance", "deposit_concentration"]


def test_example_2_reads_balances_from_the_file():
    m = example_2()
    assert m.days == 21
    assert m.balances_derived is False
    assert m.starting_balance == Decimal("2000.00")  # 8,000 - 6,000 before the first row
    assert m.average_daily_balance == Decimal("11095.24")  # 233,000 / 21
    assert m.negative_balance_days == 0
    assert m.average_deposits_per_30_days == Decimal("25714.29")
    assert m.deposit_volatility == Decimal("0.0000")
    assert m.largest_deposit_share == Decimal("0.3333")
    assert m.lenders == ("XYZ FUNDING",)
    assert (m.lender_debit_count, m.lender_debit_total) == (3, Decimal("1500.00"))


def test_example_2_alone_scores_91_4_and_is_approved_despite_one_lender():
    health = score_deal([example_2()], [screen_transactions(EXAMPLE_2)])
    assert [c.points for c in health.components] == [
        Decimal("21.43"),
        Decimal("20.00"),
        Decimal("20.00"),
        Decimal("15.00"),
        Decimal("10.00"),
        Decimal("5.00"),
    ]
    assert health.score == Decimal("91.4")
    assert health.recommendation == "approved"
    assert health.flags == ["loan_stacking"]


def test_examples_1_and_2_together_score_78_6_and_are_approved():
    health = score_deal(
        [example_1(), example_2()], [screen_transactions(EXAMPLE_1), screen_transactions(EXAMPLE_2)]
    )
    figures = health.figures
    assert figures is not None
    assert figures.days == 35
    assert figures.average_daily_balance == Decimal("7333.43")
    assert figures.deposits_per_30_days == Decimal("20571.43")
    assert figures.events_per_30_days == Decimal("0.8571")
    assert figures.negative_day_share == Decimal("0.0571")
    assert figures.deposit_volatility == Decimal("0.1333")
    assert figures.lenders == ("XYZ FUNDING",)
    assert [c.points for c in health.components] == [
        Decimal("17.14"),
        Decimal("20.00"),
        Decimal("15.71"),
        Decimal("10.72"),
        Decimal("10.00"),
        Decimal("5.00"),
    ]
    assert health.score == Decimal("78.6")
    assert health.recommendation == "approved"
    assert health.flags == ["nsf", "negative_balance", "loan_stacking", "deposit_concentration"]
    assert any("XYZ FUNDING" in line for line in health.explanations)


@pytest.mark.parametrize(
    ("description", "kind"),
    [
        ("NSF FEE", "nsf"),
        ("Insufficient Funds Charge", "nsf"),
        ("NON-SUFFICIENT FUNDS ITEM", "nsf"),
        ("RETURNED ITEM FEE", "returned_item"),
        ("ACH RETURN R01", "returned_item"),
        ("Overdraft Item Fee", "overdraft"),
        ("OD FEE", "overdraft"),
        ("NSF RETURNED ITEM", "nsf"),
        ("STRIPE TRANSFER", None),
        ("RETURNED MERCHANDISE CREDIT", None),
        ("TRANSFER TO ODESSA LLC", None),
    ],
)
def test_it_classifies_nsf_overdraft_and_returned_items(description, kind):
    assert classify_event(description) == kind


def test_screening_counts_each_event_kind_with_its_transactions():
    transactions = [
        tx(day(1, 2), "NSF FEE", "-35.00"),
        tx(day(1, 3), "NSF FEE", "-35.00"),
        tx(day(1, 4), "OVERDRAFT CHARGE", "-25.00"),
        tx(day(1, 5), "RETURNED CHECK", "-400.00"),
        tx(day(1, 6), "DEPOSIT", "100.00"),
    ]
    screening = screen_transactions(transactions)
    assert (screening.nsf_count, screening.overdraft_count, screening.returned_count) == (2, 1, 1)
    assert screening.flags == ["nsf", "overdraft", "returned_item", "deposit_concentration"]
    nsf = screening.findings[0]
    assert nsf.explanation == "2 NSF / insufficient-funds events (on 2024-01-02, 2024-01-03)."
    assert len(nsf.transactions) == 2


@pytest.mark.parametrize(
    ("description", "name"),
    [
        ("ACH DEBIT XYZ FUNDING LLC 0412", "XYZ FUNDING"),
        ("ONDECK CAPITAL DES:PAYMENT ID:99812", "ONDECK CAPITAL"),
        ("Orig CO Name:Fast Business Advance", "FAST BUSINESS ADVANCE"),
        ("KABBAGE LOAN PMT", "KABBAGE LOAN"),
        ("STAPLES 1234", None),
    ],
)
def test_it_names_the_lender_of_a_debit(description, name):
    assert lender_name(description) == name


def test_weekly_funding_debits_are_detected_as_stacking():
    debits = [tx(day(2, 1) + datetime.timedelta(days=7 * i), "XYZ FUNDING ACH", "-750.00") for i in range(4)]
    screening = screen_transactions([tx(day(2, 1), "DEPOSIT", "9000.00"), *debits])
    [lender] = screening.lender_debits
    assert (lender.lender, lender.cadence, lender.count) == ("XYZ FUNDING", "weekly", 4)
    assert lender.total == Decimal("3000.00")
    assert lender.typical_amount == Decimal("750.00")
    assert "loan_stacking" in screening.flags
    assert "multiple_lenders" not in screening.flags


def test_daily_debits_on_business_days_are_daily():
    weekdays = [day(5, d) for d in (6, 7, 8, 9, 10, 13, 14, 15)]  # Monday-Friday, skipping the weekend
    [lender] = find_lender_debits([tx(d, "QUICK CAPITAL DAILY", "-120.00") for d in weekdays])
    assert lender.cadence == "daily"


def test_monthly_card_payments_to_a_capital_named_bank_are_not_a_position():
    payments = [tx(day(m, 15), "CAPITAL ONE CARD PAYMENT", "-900.00") for m in (1, 2, 3, 4)]
    assert find_lender_debits(payments) == ()


def test_two_lenders_flag_multiple_lenders_and_decline():
    rows = [tx(day(6, 3) + datetime.timedelta(days=7 * w), "STRIPE", "20000.00") for w in range(4)]
    for w in range(4):
        rows.append(tx(day(6, 3) + datetime.timedelta(days=7 * w), "XYZ FUNDING", "-500.00"))
        rows.append(tx(day(6, 4) + datetime.timedelta(days=7 * w), "ABC CAPITAL", "-400.00"))
    metrics = compute_metrics(rows, opening_balance=Decimal("30000"))
    screening = screen_transactions(rows)
    health = score_deal([metrics], [screening])
    assert screening.flags == ["loan_stacking", "multiple_lenders"]
    assert health.recommendation == "declined"
    assert "Already repaying 2 lenders (ABC CAPITAL, XYZ FUNDING)." in health.reasons


def test_negative_balance_days_count_calendar_days_below_zero():
    rows = [
        tx(day(7, 1), "DEPOSIT", "100.00", "100.00"),
        tx(day(7, 3), "RENT", "-300.00", "-200.00"),  # negative on the 3rd, 4th and 5th
        tx(day(7, 6), "DEPOSIT", "500.00", "300.00"),
        tx(day(7, 8), "SUPPLIES", "-350.00", "-50.00"),  # and the 8th
    ]
    metrics = compute_metrics(rows)
    assert metrics.negative_balance_days == 4
    assert metrics.lowest_balance == Decimal("-200.00")


def test_a_day_ends_on_the_balance_of_its_last_transaction():
    rows = [tx(day(7, 1), "DEPOSIT", "100.00", "100.00"), tx(day(7, 1), "FEE", "-150.00", "-50.00")]
    assert compute_metrics(rows).negative_balance_days == 1


def test_balances_derive_from_zero_without_an_opening_balance():
    metrics = compute_metrics([tx(day(8, 1), "A", "10.00"), tx(day(8, 2), "B", "-30.00")])
    assert (metrics.starting_balance, metrics.ending_balance) == (Decimal("0.00"), Decimal("-20.00"))
    assert metrics.negative_balance_days == 1
    assert metrics.average_daily_balance == Decimal("-5.00")


def test_accounts_are_pooled_day_by_day():
    rows = [
        Transaction(day(9, 1), "A", Decimal("100"), Decimal("1100"), "111"),
        Transaction(day(9, 2), "B", Decimal("-50"), Decimal("450"), "222"),
        Transaction(day(9, 3), "C", Decimal("-100"), Decimal("1000"), "111"),
    ]
    # Day 1: 1,100 + 500 (account 222 before its first row) = 1,600; day 2: 1,100 + 450 = 1,550;
    # day 3: 1,000 + 450 = 1,450. (1,600 + 1,550 + 1,450) / 3 = 1,533.33.
    assert compute_metrics(rows).average_daily_balance == Decimal("1533.33")


def test_steady_weekly_deposits_have_no_volatility_and_uneven_ones_do():
    steady = [tx(day(1, 1) + datetime.timedelta(days=7 * w), "DEPOSIT", "1000") for w in range(4)]
    uneven = [
        tx(day(1, 1), "DEPOSIT", "3000"),
        tx(day(1, 22), "DEPOSIT", "1000"),
        tx(day(1, 28), "FEE", "-1"),
    ]
    assert compute_metrics(steady, period_end=day(1, 28)).deposit_volatility == Decimal("0.0000")
    # Weeks: 3,000, 0, 0, 1,000 → mean 1,000, population std dev 1,224.74 → CV 1.2247.
    assert compute_metrics(uneven).deposit_volatility == Decimal("1.2247")


def test_volatility_needs_two_full_weeks():
    assert (
        compute_metrics([tx(day(1, 1), "DEPOSIT", "10"), tx(day(1, 13), "DEPOSIT", "10")]).deposit_volatility
        is None
    )


def test_monthly_deposits_list_every_month_of_the_period():
    rows = [tx(day(1, 10), "DEPOSIT", "100"), tx(day(3, 5), "DEPOSIT", "50"), tx(day(3, 6), "FEE", "-5")]
    metrics = compute_metrics(rows)
    assert metrics.monthly_deposits == {
        "2024-01": Decimal("100.00"),
        "2024-02": Decimal("0.00"),
        "2024-03": Decimal("50.00"),
    }


def test_no_statements_score_zero_and_decline():
    health = score_deal([], [])
    assert (health.score, health.recommendation) == (Decimal("0.0"), "declined")


def test_a_perfect_deal_scores_100():
    rows = [tx(day(1, 1) + datetime.timedelta(days=d), "CARD SETTLEMENT", "2000", None) for d in range(28)]
    metrics = compute_metrics(rows, opening_balance=Decimal("50000"))
    health = score_deal([metrics], [screen_transactions(rows)])
    assert health.score == Decimal("100.0")
    assert health.recommendation == "approved"
    assert health.flags == []


def test_the_score_is_deterministic_and_independent_of_statement_order():
    first = score_deal(
        [example_1(), example_2()], [screen_transactions(EXAMPLE_1), screen_transactions(EXAMPLE_2)]
    )
    again = score_deal(
        [example_1(), example_2()], [screen_transactions(EXAMPLE_1), screen_transactions(EXAMPLE_2)]
    )
    swapped = score_deal(
        [example_2(), example_1()], [screen_transactions(EXAMPLE_2), screen_transactions(EXAMPLE_1)]
    )
    assert to_json(first) == to_json(again)
    assert (swapped.score, swapped.flags, swapped.recommendation) == (
        first.score,
        first.flags,
        first.recommendation,
    )


def test_results_serialise_to_json():
    metrics, screening = example_2(), screen_transactions(EXAMPLE_2)
    health = score_deal([metrics], [screening])
    decoded = json.loads(
        json.dumps({"m": to_json(metrics), "s": screening_json(screening), "h": to_json(health)})
    )
    assert decoded["h"]["score"] == str(health.score)
    assert decoded["m"]["average_daily_balance"] == "11095.24"
    assert decoded["m"]["monthly_deposits"] == {"2024-04": "18000.00"}
    assert decoded["s"]["lender_debits"][0]["first_date"] == "2024-04-01"


def test_a_parsed_csv_goes_through_the_whole_pipeline():
    data = csv_bytes(
        [["Date", "Description", "Amount"]]
        + [[f"04/{d:02d}/2024", "STRIPE", "1,500.00"] for d in range(1, 29)],
        preamble=[["Opening Balance", "2,500.00"]],
    )
    statement = parse_document(extract_document(data))
    metrics = compute_statement_metrics(statement)
    assert metrics.starting_balance == Decimal("2500.00")
    assert metrics.average_deposits_per_30_days == Decimal("45000.00")


_amount = st.decimals(min_value=-50_000, max_value=50_000, places=2, allow_nan=False, allow_infinity=False)
_row = st.tuples(
    st.integers(0, 120),
    st.sampled_from(["DEPOSIT", "NSF FEE", "XYZ FUNDING", "OVERDRAFT FEE", "RENT", "RETURNED ITEM"]),
    _amount,
)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.lists(_row, min_size=1, max_size=40), min_size=1, max_size=3), st.one_of(st.none(), _amount)
)
def test_the_score_stays_within_0_and_100_with_one_decimal(statements, opening):
    metrics, screenings = [], []
    for rows in statements:
        transactions = [tx(day(1, 1) + datetime.timedelta(days=d), desc, str(a)) for d, desc, a in rows]
        metrics.append(compute_metrics(transactions, opening_balance=opening))
        screenings.append(screen_transactions(transactions))
    health = score_deal(metrics, screenings)
    assert Decimal(0) <= health.score <= Decimal(100)
    assert health.score == health.score.quantize(Decimal("0.1"))
    assert health.recommendation in {"approved", "declined"}
    assert health.reasons
    json.dumps(to_json(health))
