"""The evidence behind every flag: which stored transactions (ids, dates, amounts, counterparties)
and which figures a flag rests on. Pure functions; docs/underwriting.md ("Flag evidence").
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from decimal import Decimal
from typing import Any

from deals.parsing.statement import Transaction, money_str, money_text
from deals.stored import to_json
from deals.underwriting import (
    APPROVE_MIN_DEPOSITS_30,
    DealFigures,
    Finding,
    HealthScore,
    Screening,
    StatementMetrics,
    lender_name,
)

# A flag names at most this many transactions; `transaction_count` says how many there are and
# `GET /deals/{id}/transactions?flag=<code>` lists them all.
MAX_EVIDENCE_TRANSACTIONS = 200
EVENT_FLAGS = frozenset({"nsf", "overdraft", "returned_item"})

TransactionRef = Callable[[Transaction], dict[str, Any]]


def transaction_ref(
    transaction: Transaction, *, transaction_id: int | None, statement_id: int
) -> dict[str, Any]:
    """How evidence names one transaction."""
    return {
        "id": transaction_id,
        "statement_id": statement_id,
        "date": transaction.date.isoformat(),
        "amount": money_str(transaction.amount),
        "description": transaction.description,
        "counterparty": transaction.counterparty,
    }


def transaction_flags(
    screening: Screening, count: int, index_of: Callable[[Transaction], int | None]
) -> list[list[str]]:
    """The flags each of a statement's `count` transactions carries, from its screening findings."""
    flags: list[list[str]] = [[] for _ in range(count)]
    for finding in screening.findings:
        for t in finding.transactions:
            position = index_of(t)
            if position is None:
                # Not one of the statement's rows (a caller screened a different list): no row
                # to mark, and its evidence names it without an id.
                continue
            marks = flags[position]
            if finding.code not in marks:
                marks.append(finding.code)
    return flags


def with_evidence(screening: Screening, ref: TransactionRef) -> Screening:
    """The screening with each finding's `evidence` filled in, naming transactions through `ref`."""
    lenders = {lender.lender: lender for lender in screening.lender_debits}
    findings = []
    for finding in screening.findings:
        refs = [ref(t) for t in finding.transactions]
        evidence: dict[str, Any]
        if finding.code in EVENT_FLAGS:
            evidence = {
                "count": len(refs),
                "total": money_str(sum((-t.amount for t in finding.transactions), Decimal(0))),
                "transactions": refs,
            }
        elif finding.code == "loan_stacking":
            by_lender: dict[str, list[dict[str, Any]]] = {name: [] for name in lenders}
            for t, item in zip(finding.transactions, refs, strict=True):
                name = lender_name(t.description)
                if name in by_lender:
                    by_lender[name].append(item)
            evidence = {
                "lenders": [
                    {**to_json(lender), "transactions": by_lender[lender.lender]}
                    for lender in screening.lender_debits
                ]
            }
        elif finding.code == "multiple_lenders":
            evidence = {"lenders": [to_json(lender) for lender in screening.lender_debits]}
        else:
            evidence = {"transactions": refs}
        findings.append(replace(finding, evidence=evidence))
    return replace(screening, findings=tuple(findings))


def _capped(items: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "transaction_count": len(items),
        "transactions": items[:MAX_EVIDENCE_TRANSACTIONS],
        "truncated": len(items) > MAX_EVIDENCE_TRANSACTIONS,
    }


def _merged_lenders(findings: Sequence[tuple[int, Finding]]) -> list[dict[str, Any]]:
    """One entry per lender across statements: how often, how much, since when, which debits."""
    merged: dict[str, dict[str, Any]] = {}
    for statement_id, finding in findings:
        for lender in finding.evidence.get("lenders", []):
            entry = merged.get(lender["lender"])
            if entry is None:
                merged[lender["lender"]] = {
                    **{key: value for key, value in lender.items() if key != "transactions"},
                    "statement_ids": [statement_id],
                    "_transactions": list(lender.get("transactions", [])),
                }
                continue
            entry["count"] += lender["count"]
            entry["total"] = money_str(Decimal(entry["total"]) + Decimal(lender["total"]))
            entry["first_date"] = min(entry["first_date"], lender["first_date"])
            entry["last_date"] = max(entry["last_date"], lender["last_date"])
            entry["statement_ids"].append(statement_id)
            entry["_transactions"].extend(lender.get("transactions", []))
    result = []
    for entry in sorted(merged.values(), key=lambda e: (-Decimal(e["total"]), e["lender"])):
        items = entry.pop("_transactions")
        result.append({**entry, **_capped(items)})
    return result


def deal_flag_details(
    score: HealthScore,
    statements: Sequence[tuple[int, StatementMetrics, Screening]],
) -> list[dict[str, Any]]:
    """`{"code", "explanation", "evidence"}` for every flag of a deal's score, in its order.

    `statements` are the scored statements as (statement id, metrics, screening with evidence).
    """
    details = []
    for code in score.flags:
        findings = [
            (sid, f) for sid, _, screening in statements for f in screening.findings if f.code == code
        ]
        explanation = " ".join(dict.fromkeys(f.explanation for _, f in findings))
        evidence: dict[str, Any]
        if code in EVENT_FLAGS or code == "deposit_concentration":
            evidence = _capped([item for _, f in findings for item in f.evidence.get("transactions", [])])
        elif code == "loan_stacking":
            evidence = {"lenders": _merged_lenders(findings)}
        elif code == "multiple_lenders":
            stacking = [(sid, f) for sid, _, s in statements for f in s.findings if f.code == "loan_stacking"]
            lenders = [
                {key: value for key, value in lender.items() if key not in ("transactions", "truncated")}
                for lender in _merged_lenders(stacking)
            ]
            evidence = {"lenders": lenders}
            explanation = explanation or f"{len(lenders)} lenders are being repaid across the statements."
        elif code == "negative_balance":
            evidence, explanation = _negative_balance(statements, score.figures)
        elif code == "low_revenue":
            evidence, explanation = _low_revenue(statements, score.figures)
        else:
            evidence = {}
        details.append({"code": code, "explanation": explanation, "evidence": evidence})
    return details


def _negative_balance(
    statements: Sequence[tuple[int, StatementMetrics, Screening]], figures: DealFigures | None
) -> tuple[dict[str, Any], str]:
    below: list[dict[str, Any]] = [
        {
            "statement_id": sid,
            "days": m.days,
            "negative_balance_days": m.negative_balance_days,
            "lowest_balance": money_str(m.lowest_balance),
            "balances_derived": m.balances_derived,
        }
        for sid, m, _ in statements
        if m.negative_balance_days
    ]
    days = sum(m.negative_balance_days for _, m, _ in statements)
    share = figures.negative_day_share if figures else None
    evidence = {"negative_day_share": None if share is None else f"{share:f}", "statements": below}
    return evidence, f"The balance was below zero on {days} day{'s' if days != 1 else ''}."


def _low_revenue(
    statements: Sequence[tuple[int, StatementMetrics, Screening]], figures: DealFigures | None
) -> tuple[dict[str, Any], str]:
    per_30 = figures.deposits_per_30_days if figures else Decimal(0)
    evidence = {
        "deposits_per_30_days": money_str(per_30),
        "minimum": money_str(APPROVE_MIN_DEPOSITS_30),
        "statements": [
            {
                "statement_id": sid,
                "days": m.days,
                "revenue": money_str(m.total_deposits),
                "non_revenue_deposits": money_str(m.non_revenue_deposits),
            }
            for sid, m, _ in statements
        ],
    }
    return (
        evidence,
        f"Revenue of {money_text(per_30)} per 30 days is below the minimum of "
        f"{money_text(APPROVE_MIN_DEPOSITS_30)}.",
    )
