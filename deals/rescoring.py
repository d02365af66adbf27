"""A deal's score, warnings and proposal, derived from its completed statements.

Both the statement pipeline (a statement ends, deals.statement_outcomes) and an underwriter's
corrections (deals.services) re-score a deal through here, with the deal row locked by the
caller and in the caller's transaction; events are published last.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.utils import timezone

from deals.evidence import deal_flag_details
from deals.models import Deal, DealStatus, ProposalStatus, ProposedChange, Statement, StatementStatus
from deals.quality import (
    StatementFacts,
    account_type_findings,
    currency_findings,
    deal_currency,
    history_days,
    is_scored_account,
    short_history_finding,
)
from deals.stored import to_json
from deals.underwriting import HealthScore, gate_recommendation, score_deal
from events.publish import publish_event


def rescore_deal(deal: Deal) -> HealthScore | None:
    """Score a (locked) deal from its counted statements and store the result and its warnings.

    Counted: completed, not an entire repeat of another statement, in the deal's currency. The
    recommendation is made safe (`gate_recommendation`). Returns None, and clears the score,
    when no statement could be read.
    """
    completed = list(deal.statements.filter(status=StatementStatus.COMPLETED).order_by("completed_at", "pk"))
    counted, deal_findings, days = _counted_statements(completed)
    inputs = [statement.scoring_inputs() for statement in counted]
    deal.warnings = _merged_warnings(completed, deal_findings)
    score = None
    if not inputs:
        deal.health_score = None
        deal.flags = []
        deal.flag_details = []
        deal.explanations = [
            "No statement of this deal could be read; the deal waits for documents."
            if not completed
            else "No statement of this deal can be scored (see its warnings); the deal waits for a "
            "business bank account statement."
        ]
        deal.recommendation = ""
        deal.score_details = None
    else:
        score = score_deal([m for m, _ in inputs], [s for _, s in inputs])
        unreconciled = [
            f"statement {s.pk} ({s.filename})"
            for s in counted
            if (s.reconciliation or {}).get("status") == "failed"
        ]
        score = gate_recommendation(score, history_days=days, unreconciled=unreconciled)
        details = to_json(score)
        deal.health_score = score.score
        deal.flags = list(score.flags)
        deal.flag_details = deal_flag_details(
            score, [(statement.pk, m, s) for statement, (m, s) in zip(counted, inputs, strict=True)]
        )
        deal.explanations = list(score.explanations)
        deal.recommendation = score.recommendation
        deal.score_details = {key: details[key] for key in ("reasons", "components", "figures")}
    deal.save(update_fields=[*_SCORE_FIELDS, "updated_at"])
    return score


_SCORE_FIELDS = [
    "health_score",
    "flags",
    "flag_details",
    "explanations",
    "recommendation",
    "score_details",
    "warnings",
]


def propose_decision(deal: Deal) -> ProposedChange:
    """Replace any open proposal of the locked deal by a new one and publish `proposed_change`."""
    supersede_open_proposal(deal)
    recommendation = deal.recommendation or "declined"
    reasons = (deal.score_details or {}).get("reasons") or []
    explanation = f"Health score {deal.health_score}. " + " ".join(reasons)
    if deal.warnings:
        codes = sorted({w["code"] for w in deal.warnings})
        explanation += f" Warnings: {', '.join(codes)}."
    change = ProposedChange.objects.create(
        deal=deal,
        proposed={"decision": recommendation},
        explanation=explanation.strip(),
        health_score=deal.health_score,
    )
    publish_event(
        deal.organization_id,
        "proposed_change",
        {
            "change_id": change.pk,
            "deal_id": deal.pk,
            "operation": change.operation,
            "proposed": change.proposed,
            "explanation": change.explanation,
            "warnings": deal.warnings,
        },
    )
    return change


def score_number(score: Decimal | None) -> float | None:
    # JSON has no decimal type; one decimal digit survives a float exactly as printed.
    return None if score is None else float(score)


def _counted_statements(completed: list[Statement]) -> tuple[list[Statement], list[Any], int]:
    """The completed statements the score counts, the deal-level findings, and the history in days.

    Marks each statement's `counted` flag (saved only when it changes).
    """
    facts = {
        s.pk: StatementFacts(
            s.pk, s.currency or None, s.period_start, s.period_end, s.duplicate_of_id, s.account_type
        )
        for s in completed
    }
    originals = [facts[s.pk] for s in completed if s.duplicate_of_id is None]
    # The deal's currency is its bank accounts' (a card statement in another currency changes nothing).
    currency = deal_currency([f for f in originals if is_scored_account(f.account_type)])
    counted: list[Statement] = []
    for s in completed:
        keep = (
            s.duplicate_of_id is None
            and not (currency and s.currency and s.currency != currency)
            and is_scored_account(s.account_type)
        )
        if keep:
            counted.append(s)
        if s.counted != keep:
            s.counted = keep
            s.save(update_fields=["counted"])
    days = history_days([facts[s.pk] for s in counted])
    findings: list[Any] = [*currency_findings(originals, currency), *account_type_findings(originals)]
    short = short_history_finding(days)
    if short is not None and counted:
        findings.append(short)
    return counted, findings, days


def _merged_warnings(completed: list[Statement], deal_findings: list[Any]) -> list[dict[str, Any]]:
    """Each statement's warnings (their evidence naming the statement), then the deal's own."""
    merged: list[dict[str, Any]] = []
    for s in completed:
        for warning in s.warnings or []:
            evidence = {**(warning.get("evidence") or {}), "statement_id": s.pk}
            merged.append({**warning, "evidence": evidence})
    merged.extend(to_json(f) for f in deal_findings)
    return merged


def supersede_open_proposal(deal: Deal) -> None:
    ProposedChange.objects.filter(deal=deal, status=ProposalStatus.OPEN).update(
        status=ProposalStatus.SUPERSEDED, resolved_at=timezone.now(), resolved_by="system"
    )


def rescore_after_correction(deal: Deal, *, changed_by: str, reason: str) -> None:
    """Re-score a locked deal after an underwriter's correction and say so (`deal.rescored`); a
    deal under review gets a fresh proposal in place of the pending one."""
    previous = deal.health_score
    rescore_deal(deal)
    publish_event(
        deal.organization_id,
        "deal.rescored",
        {
            "deal_id": deal.pk,
            "health_score": score_number(deal.health_score),
            "previous_score": score_number(previous),
            "changed_by": changed_by,
            "reason": reason,
        },
    )
    if deal.status == DealStatus.UNDER_REVIEW:
        propose_decision(deal)
    else:
        supersede_open_proposal(deal)
