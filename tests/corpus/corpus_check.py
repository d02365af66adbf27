"""Runs one corpus file through the real parsing (and reconciliation when present) and compares it
with the expectation written beside it in expected.json."""

from __future__ import annotations

import datetime
import functools
import importlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from fpdf import FPDF

from deals.parsing import ParsedStatement, StatementError, extract_document, parse_document

HERE = Path(__file__).resolve().parent
FILES = HERE / "files"
# Facts that are numbers: a difference in one of them, with no warning, is "silently wrong".
NUMERIC_FIELDS = (
    "transaction_count",
    "deposits",
    "withdrawals",
    "first_date",
    "last_date",
    "period_start",
    "period_end",
)


@functools.cache
def manifest() -> dict[str, dict[str, Any]]:
    return json.loads((HERE / "expected.json").read_text(encoding="utf-8"))


@functools.cache
def pdf_descriptions() -> dict[str, dict[str, Any]]:
    return json.loads((HERE / "pdf_statements.json").read_text(encoding="utf-8"))


def tagged(failure_class: str) -> list[str]:
    """The corpus files the manifest tags with one failure class."""
    return sorted(name for name, entry in manifest().items() if failure_class in entry["classes"])


def build_pdf(lines: list[str]) -> bytes:
    """A text-layer PDF of the described lines, in a monospace font so columns stay aligned."""
    pdf = FPDF()
    pdf.set_margins(10, 10)
    pdf.add_page()
    pdf.set_font("Courier", size=7)
    for line in lines:
        if pdf.get_y() > 280:
            pdf.add_page()
        pdf.cell(0, 4, line, new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def file_bytes(name: str) -> bytes:
    if name.endswith(".pdf"):
        return build_pdf(pdf_descriptions()[name]["lines"])
    return (FILES / name).read_bytes()


def reconciler() -> Callable[[ParsedStatement], Any] | None:
    """The quality gate's reconcile(), once the reconciliation module is merged; None before."""
    try:
        module = importlib.import_module("deals.reconciliation")
    except ImportError:
        return None
    found = getattr(module, "reconcile", None)
    return found if callable(found) else None


@dataclass
class Outcome:
    name: str
    refused: str | None = None  # the StatementError's reason
    observed: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    differences: list[str] = field(default_factory=list)
    silently_wrong: bool = False

    @property
    def correct(self) -> bool:
        return not self.differences

    def describe(self) -> str:
        if self.correct:
            return f"{self.name}: correct"
        kind = "SILENTLY WRONG" if self.silently_wrong else "wrong"
        said = f"; warnings {self.warnings}" if self.warnings else ""
        return f"{self.name}: {kind}: " + "; ".join(self.differences) + said


def _money(value: Decimal) -> str:
    return f"{value.quantize(Decimal('0.01')):.2f}"


def _iso(value: datetime.date | None) -> str | None:
    return value.isoformat() if value else None


def observe(statement: ParsedStatement) -> dict[str, Any]:
    amounts = [t.amount for t in statement.transactions]
    dates = [t.date for t in statement.transactions]
    observed: dict[str, Any] = {
        "transaction_count": len(amounts),
        "deposits": _money(sum((a for a in amounts if a > 0), Decimal(0))),
        "withdrawals": _money(sum((-a for a in amounts if a < 0), Decimal(0))),
        "first_date": _iso(min(dates)) if dates else None,
        "last_date": _iso(max(dates)) if dates else None,
        "account_type": statement.account_type,
        "period_start": _iso(statement.period_start),
        "period_end": _iso(statement.period_end),
        "rows_skipped": len(statement.rows_skipped),
        "accounts": [account.replace(" ", "") for account in statement.accounts],
    }
    reconcile = reconciler()
    if reconcile is not None:
        result = reconcile(statement)
        observed["reconciliation"] = getattr(result, "status", result)
    return observed


def check(name: str) -> Outcome:
    """Parse one corpus file and compare it with its expectation."""
    return _check(name)


@functools.cache
def _check(name: str) -> Outcome:
    expected = manifest()[name]["expected"]
    outcome = Outcome(name)
    try:
        statement = parse_document(extract_document(file_bytes(name)))
    except StatementError as error:
        outcome.refused = error.reason
        if "refused" not in expected:
            outcome.differences.append(f"refused ({error.reason!r}) but expected to be read")
        elif expected["refused"].lower() not in error.reason.lower():
            outcome.differences.append(
                f"refused with {error.reason!r}, which does not say {expected['refused']!r}"
            )
        return outcome

    outcome.observed = observe(statement)
    outcome.warnings = [w.code for w in statement.warnings]
    if "refused" in expected:
        outcome.differences.append(
            f"read as {outcome.observed['transaction_count']} transactions, expected refused "
            f"({expected['refused']!r})"
        )
        outcome.silently_wrong = not outcome.warnings
        return outcome

    numbers_differ = False
    for key, want in expected.items():
        if key == "reconciliation" and "reconciliation" not in outcome.observed:
            continue  # the reconciliation module is not merged yet
        got = outcome.observed.get(key)
        if got != want:
            outcome.differences.append(f"{key} {got!r} != expected {want!r}")
            if key in NUMERIC_FIELDS:
                numbers_differ = True
    # A failed reconciliation reported as passed is as dangerous as a wrong number.
    if expected.get("reconciliation") == "failed" and outcome.observed.get("reconciliation") == "passed":
        numbers_differ = True
    outcome.silently_wrong = numbers_differ and not outcome.warnings
    return outcome


def summary_line(outcomes: list[Outcome]) -> str:
    correct = sum(o.correct for o in outcomes)
    silent = sum(o.silently_wrong for o in outcomes)
    return f"statements: {correct}/{len(outcomes)} correct, {silent} silently wrong"
