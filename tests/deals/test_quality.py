"""Plausibility warnings: skipped rows, implausible amounts and periods, repeats, currency, history."""

from __future__ import annotations

import datetime
from decimal import Decimal

from deals.parsing.statement import Finding, ParsedStatement, SkippedRow, Transaction
from deals.quality import (
    EarlierStatement,
    StatementFacts,
    currency_findings,
    deal_currency,
    find_overlap,
    history_days,
    implausible_amounts,
    short_history_finding,
    statement_findings,
    statement_period,
    transaction_keys,
)
from deals.reconciliation import reconcile

D = Decimal
START = datetime.date(2024, 1, 1)


def tx(day: int, amount: str, description: str = "CARD SETTLEMENT", *, row: int | None = None) -> Transaction:
    return Transaction(START + datetime.timedelta(days=day), description, D(amount), row=row)


def statement(*transactions: Transaction, **fields) -> ParsedStatement:
    return ParsedStatement(format="csv", transactions=tuple(transactions), **fields)


def codes(findings: list[Finding]) -> list[str]:
    return [f.code for f in findings]


def kinds(findings: list[Finding]) -> list[str | None]:
    return [f.evidence.get("kind") for f in findings]


def month() -> list[Transaction]:
    return [tx(day, f"{100 + day}.25", row=day + 2) for day in range(31)]


def test_a_clean_statement_has_no_warnings():
    parsed = statement(*month())
    assert statement_findings(parsed, reconcile(parsed)) == []


def test_a_failed_reconciliation_is_a_warning_with_its_evidence():
    parsed = statement(*month(), opening_balance=D(0), closing_balance=D(1))
    findings = statement_findings(parsed, reconcile(parsed))
    assert codes(findings) == ["reconciliation_failed"]
    assert findings[0].evidence["status"] == "failed"
    assert findings[0].evidence["difference"] is not None
    assert "cannot be trusted" in findings[0].message


def test_skipped_rows_are_a_warning_listing_them():
    parsed = statement(*month(), rows_skipped=(SkippedRow(7, "could not read the amount 'n/a'"),))
    findings = statement_findings(parsed, reconcile(parsed))
    assert codes(findings) == ["rows_skipped"]
    assert findings[0].evidence == {
        "count": 1,
        "rows": [{"row": 7, "reason": "could not read the amount 'n/a'"}],
    }
    assert "row 7" in findings[0].message


def test_the_parsers_own_warnings_come_first():
    own = Finding("rows_ignored", "2 rows without a date were left out", {"count": 2})
    parsed = statement(*month(), warnings=(own,))
    assert statement_findings(parsed, reconcile(parsed))[0] == own


def test_a_date_read_as_an_amount_is_implausible():
    # "31.12.2013" under decimal-comma rules reads as 31,122,013.
    parsed = statement(*month(), tx(3, "31122013", row=40), tx(4, "1122013", row=41))
    findings = implausible_amounts(parsed)
    assert kinds(findings) == ["date_shaped"]
    assert findings[0].evidence["rows"] == [40, 41]
    assert findings[0].evidence["amounts"] == ["31122013", "1122013"]


def test_an_account_number_read_as_an_amount_is_implausible():
    parsed = statement(*month(), tx(3, "-987654321", row=9))
    findings = implausible_amounts(parsed)
    assert kinds(findings) == ["account_number_shaped"]
    assert findings[0].evidence["rows"] == [9]


def test_record_codes_read_as_amounts_are_implausible():
    parsed = statement(*[tx(day, "20" if day % 2 else "30") for day in range(25)])
    findings = implausible_amounts(parsed)
    assert kinds(findings) == ["code_shaped"]
    assert findings[0].evidence["values"] == ["20", "30"]


def test_round_business_amounts_are_not_codes():
    # Daily 1,500.00 settlements and a 2,500.00 rent are whole numbers but money.
    parsed = statement(*[tx(day, "1500.00" if day % 7 else "-2500.00") for day in range(60)])
    assert implausible_amounts(parsed) == []


def test_a_one_day_export_is_flagged_as_extrapolated():
    parsed = statement(tx(0, "5000.00"), tx(0, "-20.00"))
    findings = implausible_amounts(parsed)
    assert kinds(findings) == ["short_period"]
    assert findings[0].evidence == {"kind": "short_period", "days": 1, "transaction_count": 2}


def test_a_stated_period_far_wider_than_the_data_gives_way_to_the_transactions():
    parsed = statement(
        *month(), period_start=datetime.date(2020, 1, 1), period_end=datetime.date(2024, 1, 31)
    )
    assert kinds(implausible_amounts(parsed)) == ["period_too_wide"]
    assert statement_period(parsed) == (START, datetime.date(2024, 1, 31))


def test_a_plausible_stated_period_is_kept():
    parsed = statement(*month()[1:20], period_start=START, period_end=datetime.date(2024, 1, 31))
    assert statement_period(parsed) == (START, datetime.date(2024, 1, 31))
    assert implausible_amounts(parsed) == []


def test_the_same_file_twice_is_counted_once():
    rows = month()
    keys = transaction_keys(rows)
    overlap = find_overlap(rows, keys, [EarlierStatement(4, "jan.csv", keys)])
    assert overlap.duplicate_of == 4
    assert overlap.duplicate_positions == frozenset(range(31))
    assert codes(list(overlap.findings)) == ["duplicate_transactions", "overlapping_statements"]
    assert "repeats statement 4 (jan.csv):" in overlap.findings[1].message
    assert overlap.findings[0].evidence["count"] == 31


def test_overlapping_periods_drop_only_the_shared_transactions():
    rows = month()
    earlier = EarlierStatement(1, "first-half.csv", transaction_keys(rows[:20]))
    overlap = find_overlap(rows[10:], transaction_keys(rows[10:]), [earlier])
    assert overlap.duplicate_of is None
    assert overlap.duplicate_positions == frozenset(range(10))
    assert "overlaps statement 1" in overlap.findings[1].message
    assert overlap.findings[0].evidence["examples"][0] == {"date": "2024-01-11", "amount": "110.25"}


def test_a_statement_covered_by_several_earlier_ones_is_a_duplicate():
    rows = month()
    earlier = [
        EarlierStatement(1, "first.csv", transaction_keys(rows[:10])),
        EarlierStatement(2, "rest.csv", transaction_keys(rows[10:])),
    ]
    overlap = find_overlap(rows, transaction_keys(rows), earlier)
    assert overlap.duplicate_of == 2  # shares 21 transactions, the first 10
    assert "repeats statement 1 (first.csv), statement 2 (rest.csv)" in overlap.findings[1].message


def test_identical_rows_within_one_file_are_kept_unless_already_counted():
    coffee = [tx(0, "-4.50", "COFFEE"), tx(0, "-4.50", "COFFEE")]
    once = find_overlap(
        coffee, transaction_keys(coffee), [EarlierStatement(1, "a.csv", transaction_keys(coffee[:1]))]
    )
    assert once.duplicate_positions == frozenset({0})


def test_the_fingerprint_ignores_case_and_spacing_but_not_the_amount():
    a = transaction_keys([tx(0, "10.00", "Card  settlement")])
    assert a == transaction_keys([tx(0, "10.0", "CARD SETTLEMENT")])
    assert a != transaction_keys([tx(0, "10.01", "CARD SETTLEMENT")])


def facts(sid: int, currency: str | None, first: int = 0, last: int = 29) -> StatementFacts:
    return StatementFacts(
        sid, currency, START + datetime.timedelta(days=first), START + datetime.timedelta(days=last)
    )


def test_the_deal_is_scored_in_the_currency_most_statements_state():
    statements = [facts(1, "EUR"), facts(2, "USD"), facts(3, None), facts(4, "USD")]
    assert deal_currency(statements) == "USD"
    found = currency_findings(statements, "USD")
    assert codes(found) == ["currency_mismatch"]
    assert found[0].evidence == {"statement_id": 1, "currency": "EUR", "deal_currency": "USD"}


def test_a_currency_tie_goes_to_the_first_statement():
    assert deal_currency([facts(1, "GBP"), facts(2, "EUR")]) == "GBP"
    assert deal_currency([facts(1, None)]) is None


def test_history_counts_overlapping_days_once():
    assert history_days([facts(1, None, 0, 19), facts(2, None, 10, 29)]) == 30
    assert history_days([facts(1, None, 0, 9), facts(2, None, 0, 9)]) == 10


def test_a_history_under_the_minimum_is_provisional():
    finding = short_history_finding(21)
    assert finding is not None
    assert finding.code == "short_history"
    assert finding.evidence == {"days": 21, "minimum_days": 30}
    assert "provisional" in finding.message
    assert short_history_finding(30) is None
