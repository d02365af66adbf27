"""The dashboard's words: labels, score bands and one-sentence event descriptions.

Server-rendered pages and the live JavaScript describe events the same way because both read
this module: templates through `describe_event`, the browser through `vocabulary()`, which a
page embeds as JSON. A sentence is a template with `{field}` or `{field|labels}` placeholders
(a dotted field reads into nested data), small enough to implement twice without drifting.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from deals.models import DealStatus, Decision, StatementStatus, TransactionCategory
from deals.pipeline import STAGES
from deals.underwriting import APPROVE_MIN_SCORE

DEAL_STATUS_LABELS: dict[str, str] = {str(value): str(label) for value, label in DealStatus.choices}
STATEMENT_STATUS_LABELS: dict[str, str] = {
    StatementStatus.QUEUED: "Waiting",
    StatementStatus.PROCESSING: "Processing",
    StatementStatus.COMPLETED: "Processed",
    StatementStatus.FAILED: "Failed",
    StatementStatus.CANCELED: "Canceled",
}
DECISION_LABELS: dict[str, str] = {str(value): str(label) for value, label in Decision.choices}
# What each pipeline stage is doing, in words an underwriter would use.
STAGE_LABELS: dict[str, str] = {
    "extracting_text": "Reading the file",
    "parsing": "Reading transactions",
    "screening": "Checking for risk signals",
    "scoring": "Scoring",
    "completed": "Done",
}
STAGE_PERCENT: dict[str, int] = {**STAGES, "completed": 100}

FLAG_LABELS: dict[str, str] = {
    "nsf": "Insufficient funds (NSF)",
    "overdraft": "Overdrafts",
    "returned_item": "Returned items",
    "negative_balance": "Days below zero",
    "loan_stacking": "Loan stacking",
    "multiple_lenders": "Several lenders being repaid",
    "deposit_concentration": "Deposits from one source",
    "low_revenue": "Low revenue",
}

# The transaction filter that shows what each flag rests on: the rows the screening marked with
# it, or for flags about days and totals, the rows those are made of.
FLAG_FILTERS: dict[str, dict[str, str]] = {
    **{code: {"flag": code} for code in FLAG_LABELS},
    "multiple_lenders": {"category": "lender_repayment"},
    "low_revenue": {"revenue": "counted"},
}
CATEGORY_LABELS: dict[str, str] = {str(value): str(label) for value, label in TransactionCategory.choices}

# Labels of the figures the score is computed from (deals.underwriting.DealFigures).
FIGURE_LABELS: dict[str, str] = {
    "days": "Days of statements",
    "average_daily_balance": "Average daily balance",
    "deposits_per_30_days": "Deposits per 30 days",
    "events_per_30_days": "NSF, overdraft and returned items per 30 days",
    "negative_day_share": "Share of days below zero",
    "deposit_volatility": "Deposit volatility",
    "lenders": "Other lenders being repaid",
    "largest_deposit_share": "Largest single deposit, share of all deposits",
}
PERCENT_FIGURES = frozenset({"negative_day_share", "largest_deposit_share"})
MONEY_FIGURES = frozenset({"average_daily_balance", "deposits_per_30_days"})

COMPONENT_LABELS: dict[str, str] = {
    "revenue": "Revenue",
    "average_daily_balance": "Average daily balance",
    "nsf_overdraft_returns": "NSF, overdrafts and returns",
    "negative_balance_days": "Days below zero",
    "deposit_volatility": "Deposit regularity",
    "other_lenders": "Other lenders",
}

# Data-quality warnings (docs/underwriting.md §4b); an unknown code shows as itself.
WARNING_LABELS: dict[str, str] = {
    "reconciliation_failed": "Balances do not add up",
    "rows_skipped": "Rows left out",
    "short_history": "Short history",
    "currency_mismatch": "Other currency",
    "duplicate_transactions": "Repeated transactions",
    "overlapping_statements": "Overlapping statements",
    "implausible_amounts": "Implausible amounts",
}

# Score bands, highest first. "Fair" starts where the scorer starts proposing approval, so a
# badge never says "Weak" on a deal the pipeline would approve on score alone.
SCORE_BANDS: tuple[tuple[Decimal, str, str], ...] = (
    (Decimal(75), "strong", "Strong"),
    (APPROVE_MIN_SCORE, "fair", "Fair"),
    (Decimal(0), "weak", "Weak"),
)
UNSCORED = ("none", "Not scored yet")

EVENT_TITLES: dict[str, str] = {
    "deal.created": "Deal created",
    "processing.started": "Processing started",
    "processing.progress": "Processing",
    "processing.completed": "Statement processed",
    "processing.failed": "Statement failed",
    "deal.status_changed": "Status changed",
    "proposed_change": "Decision proposed",
    "deal.decision": "Decision recorded",
    "proposal.rejected": "Proposal rejected",
    "deal.rescored": "Deal re-scored",
    "statement.removed": "Statement removed",
    "batch.document_processed": "Batch document processed",
    "batch.document_failed": "Batch document failed",
    "batch.completed": "Batch finished",
    "webhook.endpoint_disabled": "Webhook disabled",
    "stream.reset": "Feed restarted",
}

EVENT_SENTENCES: dict[str, str] = {
    "deal.created": "{created_by} created the deal “{business_name}”.",
    "processing.started": "Statement {statement_id}: processing started.",
    "processing.progress": "Statement {statement_id}: {stage|stages} ({progress} %).",
    "processing.completed": "Statement {statement_id} processed. Health score is now {health_score}.",
    "processing.failed": "Statement {statement_id} could not be processed: {error}",
    "deal.status_changed": "Status changed from {old_status|statuses} to {new_status|statuses}.",
    "proposed_change": "Suggested decision: {proposed.decision|decisions}. {explanation}",
    "deal.decision": "{decision|decisions} by {decided_by}.",
    "proposal.rejected": "{rejected_by} rejected the suggested decision.",
    "deal.rescored": "Health score {previous_score} → {health_score} ({changed_by}): {reason}",
    "statement.removed": "{removed_by} removed statement {statement_id}.",
    "batch.document_processed": "Document {document_id} processed ({progress} done).",
    "batch.document_failed": "Document {document_id} failed ({progress} done): {error}",
    "batch.completed": "Batch finished: {succeeded} of {total} documents processed, {failed} failed.",
    "webhook.endpoint_disabled": "The webhook to {url} was disabled: {reason}",
    "stream.reset": "The live feed restarted; the page is being refreshed.",
}

# The org feed's event types, in the order the activity filter lists them. The steps of a
# statement's processing are not among them: the activity feed shows one line per outcome.
ACTIVITY_TYPES: tuple[str, ...] = (
    "deal.created",
    "deal.status_changed",
    "processing.completed",
    "processing.failed",
    "proposed_change",
    "proposal.rejected",
    "deal.decision",
    "deal.rescored",
    "statement.removed",
    "batch.completed",
    "webhook.endpoint_disabled",
)
# Steps on the way to an outcome: the deal and batch pages move their bars with them; a feed
# of outcomes leaves them out (a batch document's outcome is already its statement's line).
PROGRESS_STEPS: frozenset[str] = frozenset(
    {"processing.started", "processing.progress", "batch.document_processed", "batch.document_failed"}
)
# The "Decisions only" preset of the activity feed.
DECISION_TYPES: tuple[str, ...] = ("proposed_change", "proposal.rejected", "deal.decision")
DECISIONS_PRESET = "decisions"
# What a screen reader on the activity page hears as it happens: outcomes, never percentages.
OUTCOME_TYPES: frozenset[str] = frozenset(
    {
        "processing.completed",
        "processing.failed",
        *DECISION_TYPES,
        "deal.rescored",
        "statement.removed",
        "batch.completed",
    }
)


def activity_types(preset: str) -> tuple[str, ...]:
    """The event types the activity feed lists for a filter value ("" lists every outcome)."""
    if preset == DECISIONS_PRESET:
        return DECISION_TYPES
    if preset:
        return (preset,)
    return ACTIVITY_TYPES


LABEL_MAPS: dict[str, dict[str, str]] = {
    "stages": STAGE_LABELS,
    "statuses": DEAL_STATUS_LABELS,
    "decisions": DECISION_LABELS,
}

_PLACEHOLDER = re.compile(r"\{([a-z_.]+)(?:\|([a-z_]+))?\}")
MISSING = "—"


def _lookup(data: dict[str, Any], path: str) -> Any:
    value: Any = data
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def describe_event(event_type: str, data: dict[str, Any]) -> str:
    """One plain-language sentence for a stored or streamed event: its template with the
    `{field}` / `{field|labels}` placeholders filled from `data`."""
    template = EVENT_SENTENCES.get(event_type)
    if template is None:
        return event_type

    def replace(match: re.Match[str]) -> str:
        value = _lookup(data, match.group(1))
        if value is None or value == "":
            return MISSING
        labels = LABEL_MAPS.get(match.group(2) or "")
        if labels is not None:
            return labels.get(str(value), str(value))
        if match.group(1).endswith("health_score") and isinstance(value, (int, float)):
            return f"{value:.1f}"
        return str(value)

    return _PLACEHOLDER.sub(replace, template)


def score_band(score: Decimal | float | None) -> tuple[str, str]:
    """The band key (for styling) and its label; the label is always shown next to the colour."""
    if score is None:
        return UNSCORED
    value = Decimal(str(score))
    for floor, key, label in SCORE_BANDS:
        if value >= floor:
            return key, label
    return SCORE_BANDS[-1][1], SCORE_BANDS[-1][2]


def stage_percent(status: str, stage: str) -> int:
    """Where a statement's progress bar stands, from its stored status and stage."""
    if status == StatementStatus.COMPLETED:
        return 100
    if status == StatementStatus.QUEUED:
        return 0
    return STAGE_PERCENT.get(stage, 0)


def format_figure(name: str, value: Any) -> str:
    """A score input as a person reads it: money with separators, shares as percentages."""
    if value is None or value == "" or value == []:
        return "None" if name == "lenders" else MISSING
    if name == "lenders":
        return ", ".join(str(item) for item in value)
    if name in PERCENT_FIGURES:
        return f"{Decimal(str(value)) * 100:.1f} %"
    if name in MONEY_FIGURES:
        return _money(value)
    return str(value)


# A flag's evidence lists at most this many transactions on the page; the API has them all.
EVIDENCE_LINES = 5


def _money(value: Any) -> str:
    return f"{Decimal(str(value)):,.2f}"


def flag_evidence_lines(detail: dict[str, Any]) -> list[str]:
    """What a flag rests on, one short line per transaction, lender or statement
    (deals.evidence shapes; docs/underwriting.md, "Flag evidence")."""
    evidence = detail.get("evidence") or {}
    lines: list[str] = []
    for lender in evidence.get("lenders") or []:
        lines.append(
            f"{lender['lender']}: {lender['cadence']}, {lender['count']} debits, {_money(lender['total'])} "
            f"from {lender['first_date']} to {lender['last_date']}"
        )
    items = evidence.get("transactions") or []
    for item in items[:EVIDENCE_LINES]:
        lines.append(f"{item['date']} {_money(item['amount'])} {item.get('description') or ''}".strip())
    more = int(evidence.get("transaction_count") or len(items)) - min(len(items), EVIDENCE_LINES)
    if items and more > 0:
        lines.append(f"… and {more} more")
    for statement in evidence.get("statements") or []:
        if "negative_balance_days" in statement:
            lines.append(
                f"Statement {statement['statement_id']}: {statement['negative_balance_days']} days below zero, "
                f"lowest {_money(statement['lowest_balance'])}"
            )
        elif "revenue" in statement:
            lines.append(
                f"Statement {statement['statement_id']}: revenue {_money(statement['revenue'])} over "
                f"{statement['days']} days"
            )
    return lines


def vocabulary() -> dict[str, Any]:
    """Everything the browser needs to describe events and badges like the server does."""
    return {
        "titles": EVENT_TITLES,
        "sentences": EVENT_SENTENCES,
        "labels": {**LABEL_MAPS, "statementStatuses": STATEMENT_STATUS_LABELS},
        "stagePercent": STAGE_PERCENT,
        "bands": [[float(floor), key, label] for floor, key, label in SCORE_BANDS],
        "unscored": list(UNSCORED),
        "missing": MISSING,
        "outcomes": sorted(OUTCOME_TYPES),
    }


RECONCILIATION_LABELS: dict[str, str] = {
    "passed": "Balances add up",
    "failed": "Balances do not add up",
    "not_possible": "Cannot be checked",
}


def mask_account(account: str) -> str:
    """An account number as the page shows it: only its last four characters."""
    tail = account.strip()[-4:]
    return f"•••• {tail}" if tail else MISSING


def statement_detail(statement: Any, accounts: list[str]) -> dict[str, Any]:
    """One row of the deal page's statements table (deals.models.Statement and its accounts)."""
    metrics = statement.metrics or {}
    reconciliation = statement.reconciliation or {}
    status = str(reconciliation.get("status") or "")
    return {
        "id": statement.pk,
        "filename": statement.filename,
        "status": statement.status,
        "status_label": STATEMENT_STATUS_LABELS.get(statement.status, statement.status),
        "period_start": statement.period_start,
        "period_end": statement.period_end,
        "accounts": ", ".join(mask_account(account) for account in accounts) or MISSING,
        "currency": statement.currency or MISSING,
        "opening": metrics.get("starting_balance"),
        "closing": metrics.get("ending_balance"),
        "transaction_count": statement.transaction_count,
        "reconciliation": RECONCILIATION_LABELS.get(status, status) if status else MISSING,
        "reconciliation_status": status,
        "reconciliation_detail": str(reconciliation.get("detail") or ""),
        "warnings": [
            {"label": WARNING_LABELS.get(warning.get("code", ""), warning.get("code", "")), **warning}
            for warning in statement.warnings or []
        ],
        "counted": statement.counted,
    }
