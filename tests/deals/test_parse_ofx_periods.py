"""OFX statement periods: DTSTART/DTEND believed only when they fit the transactions (class 8)."""

from __future__ import annotations

import datetime

from deals.parsing import ParsedStatement, extract_document, parse_document
from deals.parsing.ofx import PERIOD_SLACK_DAYS
from tests.deals.ofx_files import bank_statement, ofx_file

ENTRIES = [("20240105", "100.00", "DEPOSIT"), ("20240125", "-40.00", "FEE")]


def parse(start: str, end: str) -> ParsedStatement:
    return parse_document(extract_document(ofx_file([bank_statement(ENTRIES, start=start, end=end)])))


def test_a_plausible_stated_period_is_kept_even_past_the_transactions():
    statement = parse("20240101", "20240131")
    assert (statement.period_start, statement.period_end) == (
        datetime.date(2024, 1, 1),
        datetime.date(2024, 1, 31),
    )
    assert statement.warnings == ()


def test_a_period_years_wider_than_the_data_comes_from_the_transactions():
    statement = parse("20000101", "20991231")
    assert (statement.period_start, statement.period_end) == (
        datetime.date(2024, 1, 5),
        datetime.date(2024, 1, 25),
    )
    [warning] = statement.warnings
    assert warning.code == "implausible_period"
    assert warning.evidence == {
        "account": "100200300",
        "stated_start": "2000-01-01",
        "stated_end": "2099-12-31",
        "first_transaction": "2024-01-05",
        "last_transaction": "2024-01-25",
    }


def test_a_stated_period_that_misses_some_transactions_is_widened_to_them():
    statement = parse("20240110", "20240120")
    assert (statement.period_start, statement.period_end) == (
        datetime.date(2024, 1, 5),
        datetime.date(2024, 1, 25),
    )
    assert [w.code for w in statement.warnings] == ["implausible_period"]


def test_the_slack_is_a_quarter_on_each_side():
    before = datetime.date(2024, 1, 5) - datetime.timedelta(days=PERIOD_SLACK_DAYS)
    kept = parse(before.strftime("%Y%m%d"), "20240131")
    assert kept.period_start == before
    too_early = before - datetime.timedelta(days=1)
    replaced = parse(too_early.strftime("%Y%m%d"), "20240131")
    assert replaced.period_start == datetime.date(2024, 1, 5)
    assert replaced.period_end == datetime.date(2024, 1, 31)


def test_a_missing_or_unreadable_period_is_the_span_of_the_transactions():
    statement = parse("", "2024-13-45")
    assert (statement.period_start, statement.period_end) == (
        datetime.date(2024, 1, 5),
        datetime.date(2024, 1, 25),
    )
