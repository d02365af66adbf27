"""Results as stored in JSON columns: the shape every reader relies on, and loading it back."""

from __future__ import annotations

import dataclasses
import json
from decimal import Decimal
from pathlib import Path

from deals.categories import categorize_statement
from deals.parsing import extract_document, parse_document
from deals.parsing.statement import ParsedStatement
from deals.stored import load_metrics, load_screening, load_statement_summary, screening_json, to_json
from deals.underwriting import Finding as RedFlag
from deals.underwriting import compute_statement_metrics, screen_transactions

SAMPLES = Path(__file__).resolve().parents[2] / "samples"


def sample(name: str) -> ParsedStatement:
    return parse_document(extract_document((SAMPLES / name).read_bytes()))


def stored(data: object) -> object:
    """What a JSON column gives back."""
    return json.loads(json.dumps(data))


def test_metrics_and_screening_load_back_equal() -> None:
    statement = sample("bolt-checking-2026-10.ofx")
    revenue = categorize_statement(statement)[1]
    metrics = compute_statement_metrics(statement, revenue=revenue)
    screening = screen_transactions(statement.transactions, revenue=revenue)
    flagged = dataclasses.replace(
        screening,
        findings=(
            *screening.findings,
            RedFlag("nsf", "Two returned items.", statement.transactions[:2], {"n": 2}),
        ),
    )
    assert load_metrics(stored(to_json(metrics))) == metrics  # type: ignore[arg-type]
    assert load_screening(stored(screening_json(flagged))) == flagged  # type: ignore[arg-type]
    assert screening_json(flagged)["flags"] == flagged.flags
    assert screening.lender_debits, "the sample has recurring lender debits"


def test_a_statement_summary_loads_back_without_its_transactions() -> None:
    statement = sample("bolt-card-2026-10.csv")
    summary = to_json(dataclasses.replace(statement, transactions=()))
    assert load_statement_summary(stored(summary)) == dataclasses.replace(statement, transactions=())  # type: ignore[arg-type]


def test_money_is_a_plain_decimal_string_and_dates_are_iso() -> None:
    statement = sample("bolt-checking-2026-09.csv")
    first = to_json(statement)["transactions"][0]
    assert first["date"] == statement.transactions[0].date.isoformat()
    assert first["amount"] == f"{statement.transactions[0].amount:f}"
    assert to_json(dataclasses.replace(statement.transactions[0], amount=Decimal("1E+3")))["amount"] == "1000"


def test_metrics_stored_before_non_revenue_deposits_still_load() -> None:
    statement = sample("bolt-checking-2026-09.csv")
    old_row = to_json(compute_statement_metrics(statement))
    del old_row["non_revenue_deposits"]
    assert load_metrics(old_row).non_revenue_deposits == Decimal(0)
