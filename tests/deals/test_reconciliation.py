"""Reconciliation: opening + Σ amounts = closing, running balances row by row, or why it cannot be checked."""

from __future__ import annotations

import datetime
from decimal import Decimal
from itertools import groupby
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from deals.parsing.statement import AccountBalances, ParsedStatement, Transaction
from deals.reconciliation import reconcile
from deals.stored import to_json

D = Decimal
DAY = datetime.date(2024, 3, 1)


def tx(
    day: int, amount: str, balance: str | None = None, *, row: int | None = None, account: str | None = None
):
    return Transaction(
        date=DAY + datetime.timedelta(days=day),
        description=f"ROW {row}",
        amount=D(amount),
        balance=None if balance is None else D(balance),
        row=row,
        account=account,
    )


def statement(*transactions: Transaction, **fields) -> ParsedStatement:
    return ParsedStatement(format="csv", transactions=tuple(transactions), **fields)


def test_it_passes_when_opening_plus_amounts_is_the_closing_balance():
    result = reconcile(
        statement(tx(0, "100.00"), tx(1, "-30.50"), opening_balance=D("1000"), closing_balance=D("1069.50"))
    )
    assert result.status == "passed"
    assert result.difference == D("0.00")
    assert result.first_bad_row is None
    assert "1 stated balance agrees" in result.detail


def test_it_fails_with_the_difference_when_the_closing_balance_does_not_add_up():
    result = reconcile(
        statement(tx(0, "100.00"), tx(1, "-30.50"), opening_balance=D("1000"), closing_balance=D("1070.00"))
    )
    assert result.status == "failed"
    assert result.difference == D("-0.50")  # computed 1,069.50 minus stated 1,070.00
    assert result.first_bad_row is None  # totals alone cannot say which row
    assert "1,069.50" in result.detail
    assert "1,070.00" in result.detail


def test_it_names_the_first_row_whose_running_balance_does_not_follow():
    result = reconcile(
        statement(
            tx(0, "100.00", "1100.00", row=5),
            tx(1, "-50.00", "1050.00", row=6),
            tx(2, "20.00", "1080.00", row=7),  # 1,050 + 20 = 1,070, not 1,080
            tx(3, "-80.00", "1000.00", row=8),
            opening_balance=D("1000"),
        )
    )
    assert result.status == "failed"
    assert result.first_bad_row == 7
    assert result.difference == D("-10.00")
    assert result.detail.startswith("Row 7 (2024-03-03)")


def test_the_first_running_balance_is_checked_against_the_opening_balance():
    result = reconcile(statement(tx(0, "100.00", "1200.00", row=2), opening_balance=D("1000")))
    assert (result.status, result.first_bad_row, result.difference) == ("failed", 2, D("-100.00"))


def test_without_an_opening_balance_the_first_running_balance_anchors_the_closing_check():
    rows = (tx(0, "100.00", "600.00"), tx(1, "-50.00", "550.00"))
    assert reconcile(statement(*rows, closing_balance=D("550.00"))).status == "passed"
    failed = reconcile(statement(*rows, closing_balance=D("560.00")))
    assert (failed.status, failed.difference) == ("failed", D("-10.00"))


def test_rows_without_a_balance_are_carried_to_the_next_stated_one():
    result = reconcile(
        statement(
            tx(0, "10.00", "110.00"), tx(1, "5.00"), tx(2, "-15.00", "100.00"), opening_balance=D("100")
        )
    )
    assert result.status == "passed"


def test_same_day_rows_listed_in_another_order_than_their_balances_still_pass():
    # The bank lists the day's credit first, but the balances were computed debit first.
    result = reconcile(
        statement(
            tx(0, "500.00", "1300.00", row=1),
            tx(0, "-200.00", "800.00", row=2),
            tx(1, "-100.00", "1200.00", row=3),
            opening_balance=D("1000"),
            closing_balance=D("1200.00"),
        )
    )
    assert result.status == "passed"
    assert "same-day order" in result.detail


def test_same_day_reordering_backtracks_out_of_a_dead_end():
    # Two rows start from 100.00 (at different times of the day); taking the later one first
    # leads nowhere, the other order adds up.
    result = reconcile(
        statement(
            tx(0, "7.00", "107.00", row=1),
            tx(0, "5.00", "105.00", row=2),
            tx(0, "-5.00", "100.00", row=3),
            opening_balance=D("100"),
            closing_balance=D("107.00"),
        )
    )
    assert result.status == "passed"


def test_rows_are_never_reordered_across_days():
    result = reconcile(
        statement(
            tx(0, "500.00", "1300.00", row=1),  # only adds up after the next day's row
            tx(1, "-200.00", "800.00", row=2),
            opening_balance=D("1000"),
        )
    )
    assert (result.status, result.first_bad_row) == ("failed", 1)


def test_it_is_not_possible_without_any_balance_and_says_why():
    result = reconcile(statement(tx(0, "10.00"), tx(1, "-5.00")))
    assert result.status == "not_possible"
    assert result.difference is None
    assert result.first_bad_row is None
    assert "no balances" in result.detail


def test_a_lone_closing_balance_cannot_be_checked():
    result = reconcile(statement(tx(0, "10.00"), closing_balance=D("10.00")))
    assert result.status == "not_possible"
    assert "closing balance but no opening balance" in result.detail


def test_an_opening_balance_the_parser_derived_is_no_evidence():
    # OFX states only the ledger balance; an opening computed from it always "adds up".
    derived = statement(
        tx(0, "10.00"), opening_balance=D("90.00"), closing_balance=D("100.00"), opening_balance_derived=True
    )
    assert reconcile(derived).status == "not_possible"


def test_each_account_is_reconciled_against_its_own_balances():
    rows = (
        tx(0, "100.00", account="CHK"),
        tx(0, "-40.00", account="SAV"),
        tx(1, "-10.00", account="CHK"),
    )
    balances = (
        AccountBalances("CHK", opening_balance=D("1000"), closing_balance=D("1090.00")),
        AccountBalances("SAV", opening_balance=D("500"), closing_balance=D("460.00")),
    )
    assert reconcile(statement(*rows, account_balances=balances)).status == "passed"
    wrong = (balances[0], AccountBalances("SAV", opening_balance=D("500"), closing_balance=D("470.00")))
    result = reconcile(statement(*rows, account_balances=wrong))
    assert (result.status, result.difference) == ("failed", D("-10.00"))
    assert "account SAV" in result.detail


def test_a_card_statement_balance_is_the_amount_owed():
    # A purchase (negative) raises what is owed; a payment (positive) lowers it.
    card = statement(
        tx(0, "-45.00", "345.00", row=1),
        tx(1, "200.00", "145.00", row=2),
        opening_balance=D("300.00"),
        closing_balance=D("145.00"),
        account_type="credit_card",
    )
    result = reconcile(card)
    assert result.status == "passed"
    assert "amount owed" in result.detail


def test_a_card_statement_in_bank_sense_also_reconciles():
    card = statement(
        tx(0, "-45.00", "-345.00"),
        tx(1, "200.00", "-145.00"),
        opening_balance=D("-300.00"),
        closing_balance=D("-145.00"),
        account_type="credit_card",
    )
    assert reconcile(card).status == "passed"


def test_a_broken_card_statement_fails():
    card = statement(
        tx(0, "-45.00", "345.00", row=1),
        tx(1, "200.00", "155.00", row=2),
        opening_balance=D("300.00"),
        account_type="credit_card",
    )
    result = reconcile(card)
    assert (result.status, result.first_bad_row, result.difference) == ("failed", 2, D("-10.00"))


def test_sub_cent_noise_is_rounded_to_the_cent():
    result = reconcile(statement(tx(0, "10.004"), opening_balance=D("0"), closing_balance=D("10.00")))
    assert result.status == "passed"


def test_stored_json_has_the_contract_shape():
    result = reconcile(statement(tx(0, "1.00", "2.00", row=3), opening_balance=D("0")))
    assert to_json(result) == {
        "status": "failed",
        "difference": "-1.00",
        "first_bad_row": 3,
        "detail": result.detail,
    }


# --- properties ---------------------------------------------------------------------------------

cents = st.integers(min_value=-5_000_000, max_value=5_000_000).filter(bool).map(lambda c: D(c) / 100)


@st.composite
def consistent_statements(draw: st.DrawFn) -> tuple[ParsedStatement, int]:
    """A statement whose running and closing balances agree with its amounts, and a row index."""
    amounts = draw(st.lists(cents, min_size=1, max_size=40))
    opening = draw(st.integers(min_value=-10_000_000, max_value=10_000_000).map(lambda c: D(c) / 100))
    gaps = draw(st.lists(st.integers(min_value=0, max_value=3), min_size=len(amounts), max_size=len(amounts)))
    with_balance = draw(st.booleans())
    rows = []
    balance = opening
    day = 0
    for index, (amount, gap) in enumerate(zip(amounts, gaps, strict=True)):
        balance += amount
        day += gap
        rows.append(tx(day, str(amount), str(balance) if with_balance else None, row=index + 10))
    parsed = statement(*rows, opening_balance=opening, closing_balance=balance)
    return parsed, draw(st.integers(min_value=0, max_value=len(rows) - 1))


@given(consistent_statements())
def test_property_consistent_statements_reconcile(case: tuple[ParsedStatement, int]) -> None:
    parsed, _ = case
    assert reconcile(parsed).status == "passed"


@given(consistent_statements(), cents)
def test_property_one_changed_amount_fails_with_its_difference_and_row(
    case: tuple[ParsedStatement, int], change: Decimal
) -> None:
    parsed, index = case
    rows = list(parsed.transactions)
    original = rows[index]
    rows[index] = Transaction(
        original.date, original.description, original.amount + change, original.balance, row=original.row
    )
    result = reconcile(
        statement(*rows, opening_balance=parsed.opening_balance, closing_balance=parsed.closing_balance)
    )
    assert result.status == "failed"
    assert result.difference == change
    if original.balance is not None:
        assert result.first_bad_row == original.row
    else:
        assert result.first_bad_row is None  # without running balances only the total can tell


@given(consistent_statements(), st.randoms(use_true_random=False))
def test_property_shuffling_the_rows_within_each_day_still_reconciles(
    case: tuple[ParsedStatement, int], random: Any
) -> None:
    parsed, _ = case
    shuffled: list[Transaction] = []
    for _day, rows in groupby(parsed.transactions, key=lambda t: t.date):
        block = list(rows)
        random.shuffle(block)
        shuffled.extend(block)
    again = statement(
        *shuffled, opening_balance=parsed.opening_balance, closing_balance=parsed.closing_balance
    )
    assert reconcile(again).status == "passed"
