"""Settling a statement's outcome, for the statement pipeline (deals.pipeline): each stage
boundary, the completed statement's stored results, a failure or cancellation, the batch's
count and the deal's status, each in one transaction through the job's handle.

Lock order (see jobs/handle.py): job, deal, statement, batch, proposal, organisation; events
are published last.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from django.utils import timezone

from deals import ledger
from deals.models import Batch, BatchStatus, Deal, Statement, StatementStatus
from deals.parsing import ParsedStatement
from deals.quality import (
    EarlierStatement,
    find_overlap,
    stated_period_is_plausible,
    statement_findings,
    statement_period,
    transaction_keys,
)
from deals.reconciliation import reconcile
from deals.rescoring import propose_decision, rescore_deal, score_number
from deals.stored import screening_json, to_json
from deals.underwriting import Screening, StatementMetrics, compute_statement_metrics, screen_transactions
from events.publish import publish_event
from jobs.handle import JobRun

CANCELED_REASON = "Processing was canceled"


def begin_stage(run: JobRun, statement: Statement, stage: str, percent: int) -> None:
    """A stage boundary: stop here if cancellation was requested, else announce the stage.

    Publishes `processing.started` (first stage) or `processing.progress`, and the job's
    `progress` (0-1) with the stage as message. Raises JobCanceled or JobLost.
    """
    with run.transaction():
        first = percent == 0
        Statement.objects.filter(pk=statement.pk).update(status=StatementStatus.PROCESSING, stage=stage)
        data: dict[str, Any] = {
            "deal_id": statement.deal_id,
            "statement_id": statement.pk,
            "stage": stage,
            "progress": percent,
        }
        if first:
            # The deal's statements so far (this one's upload has committed): a live deal
            # list keeps its count without a reload.
            data["statement_count"] = Statement.objects.filter(deal_id=statement.deal_id).count()
        publish_event(
            run.job.organization_id,
            "processing.started" if first else "processing.progress",
            data,
        )
        run.stage(stage, percent / 100)


def complete_statement(
    run: JobRun,
    statement: Statement,
    parsed: ParsedStatement,
    screening: Screening,
    metrics: StatementMetrics,
    *,
    categories: Sequence[str],
    revenue: Sequence[bool],
) -> Decimal | None:
    """The `completed` boundary: store the statement's results, rescore the deal, settle it.

    `categories`/`revenue` are the transactions' categories and revenue treatment. Returns the
    deal's new health score. Raises JobCanceled (cancellation requested during the last stage)
    or JobLost, in which case nothing is stored.
    """
    with run.transaction():
        deal = Deal.objects.select_for_update(no_key=True).get(pk=statement.deal_id)
        locked = Statement.objects.select_for_update(no_key=True).get(pk=statement.pk)
        batch = _lock_batch(locked)
        metrics, screening = _record_quality(deal, locked, parsed, metrics, screening, revenue=revenue)
        # Everything but the transactions themselves (rendering 10,000 of them costs ~0.2 s).
        summary = to_json(dataclasses.replace(parsed, transactions=()))
        del summary["transactions"]
        summary["transaction_count"] = len(parsed.transactions)
        locked.status = StatementStatus.COMPLETED
        locked.stage = "completed"
        locked.format = parsed.format
        locked.transaction_count = len(parsed.transactions)
        locked.summary = summary
        locked.metrics = to_json(metrics)
        # Stored transactions first: the screening's evidence names them by id.
        screening = ledger.store_transactions(
            locked, parsed, screening, categories=categories, revenue=revenue
        )
        locked.screening = screening_json(screening)
        locked.completed_at = timezone.now()
        locked.save()
        rescore_deal(deal)
        publish_event(
            deal.organization_id,
            "processing.completed",
            {
                "deal_id": deal.pk,
                "statement_id": locked.pk,
                "stage": "completed",
                "progress": 100,
                "health_score": score_number(deal.health_score),
                "reconciliation": locked.reconciliation,
                "warnings": locked.warnings,
            },
        )
        _record_batch_outcome(batch, locked, error=None)
        _settle_deal(deal, rescored=True)
        run.complete(
            {
                "deal_id": deal.pk,
                "statement_id": locked.pk,
                "format": parsed.format,
                "transaction_count": len(parsed.transactions),
                "health_score": score_number(deal.health_score),
                "flags": list(screening.flags),
            },
        )
    return deal.health_score


def fail_statement(run: JobRun, statement_id: int, reason: str, *, canceled: bool = False) -> None:
    """End the statement as failed (or canceled) with a reason shown to the user; settle the deal.

    Publishes `processing.failed` (a canceled statement too, with `canceled: true`, so a
    deal feed sees every started statement end), the batch's document event, the deal's
    status change if any, then the job's terminal event.
    """
    with run.transaction(stop_if_canceled=False):
        deal_id = Statement.objects.values_list("deal_id", flat=True).get(pk=statement_id)
        deal = Deal.objects.select_for_update(no_key=True).get(pk=deal_id)
        locked = Statement.objects.select_for_update(no_key=True).get(pk=statement_id)
        batch = _lock_batch(locked)
        locked.status = StatementStatus.CANCELED if canceled else StatementStatus.FAILED
        locked.error = reason
        locked.completed_at = timezone.now()
        locked.save(update_fields=["status", "error", "completed_at"])
        data: dict[str, Any] = {"deal_id": deal.pk, "statement_id": locked.pk, "error": reason}
        if canceled:
            data["canceled"] = True
        publish_event(deal.organization_id, "processing.failed", data)
        _record_batch_outcome(batch, locked, error=reason)
        _settle_deal(deal, rescored=False)
        if canceled:
            run.cancel()
        else:
            run.fail(reason)


def cancel_statement(run: JobRun, statement_id: int) -> None:
    """End a statement whose job was asked to cancel; see `fail_statement`."""
    fail_statement(run, statement_id, CANCELED_REASON, canceled=True)


def _lock_batch(statement: Statement) -> Batch | None:
    if statement.batch_id is None:
        return None
    return Batch.objects.select_for_update(no_key=True).get(pk=statement.batch_id)


def _record_batch_outcome(batch: Batch | None, statement: Statement, *, error: str | None) -> None:
    """Count one finished document of a locked batch; the last one completes the batch, once."""
    if batch is None:
        return
    data: dict[str, Any] = {"batch_id": batch.pk, "document_id": statement.pk}
    if error is None:
        batch.succeeded += 1
        data.update(progress=batch.progress_label, status=statement.status)
        publish_event(batch.organization_id, "batch.document_processed", data)
    else:
        batch.failed += 1
        data.update(progress=batch.progress_label, status=statement.status, error=error)
        publish_event(batch.organization_id, "batch.document_failed", data)
    if batch.done >= batch.total and batch.status != BatchStatus.COMPLETED:
        batch.status = BatchStatus.COMPLETED
        batch.completed_at = timezone.now()
        publish_event(
            batch.organization_id,
            "batch.completed",
            {
                "batch_id": batch.pk,
                "total": batch.total,
                "succeeded": batch.succeeded,
                "failed": batch.failed,
            },
        )
    batch.save(update_fields=["succeeded", "failed", "status", "completed_at"])


def _settle_deal(deal: Deal, *, rescored: bool) -> None:
    """After a statement ended: settle the locked deal's status; when its review starts,
    (re)score it and propose a decision."""
    if not deal.settle():
        return
    if not rescored:
        rescore_deal(deal)
    if deal.health_score is None:
        # Nothing readable: no proposal at all, so nothing can be approved or declined on
        # data the deal does not have. It stays under review (no statement is in flight,
        # spec §5) waiting for documents; a new upload takes it back to processing.
        return
    propose_decision(deal)


def _record_quality(
    deal: Deal,
    statement: Statement,
    parsed: ParsedStatement,
    metrics: StatementMetrics,
    screening: Screening,
    *,
    revenue: Sequence[bool],
) -> tuple[StatementMetrics, Screening]:
    """Set the locked statement's quality fields; return the metrics and screening it counts with.

    `revenue` is the transactions' revenue treatment (as for `complete_statement`); any
    re-measurement here uses the same treatment as the pipeline's.

    Transactions the deal already counts (an earlier statement listing the same ones) are left
    out of this statement's metrics, and a statement that repeats another entirely is marked as
    its duplicate. Runs with the deal locked, so statements finishing together are matched
    against each other in the order they complete.
    """
    result = reconcile(parsed)
    findings = statement_findings(parsed, result)
    keys = transaction_keys(parsed.transactions)
    earlier = [
        EarlierStatement(s.pk, s.filename, s.transaction_keys)
        for s in deal.statements.filter(status=StatementStatus.COMPLETED, duplicate_of__isnull=True)
        .exclude(pk=statement.pk)
        .order_by("completed_at", "pk")
        .only("pk", "filename", "transaction_keys")
    ]
    overlap = find_overlap(parsed.transactions, keys, earlier)
    findings.extend(overlap.findings)
    start, end = statement_period(parsed)
    if not stated_period_is_plausible(parsed):
        # The file's own period is far wider than its data: measure over the transactions'.
        metrics = compute_statement_metrics(
            dataclasses.replace(parsed, period_start=start, period_end=end), revenue=revenue
        )
    if overlap.duplicate_positions and overlap.duplicate_of is None:
        metrics, screening = _metrics_without(parsed, overlap.duplicate_positions, revenue)
    statement.account_type = parsed.account_type
    statement.currency = (parsed.currency or "")[:8]
    statement.period_start, statement.period_end = start, end
    statement.rows_skipped = [to_json(r) for r in parsed.rows_skipped]
    statement.reconciliation = to_json(result)
    statement.warnings = [to_json(f) for f in findings]
    statement.transaction_keys = keys
    statement.duplicate_of_id = overlap.duplicate_of
    statement.counted = overlap.duplicate_of is None
    return metrics, screening


def _metrics_without(
    parsed: ParsedStatement, positions: frozenset[int], revenue: Sequence[bool]
) -> tuple[StatementMetrics, Screening]:
    """Metrics and screening of the statement's transactions that are not in `positions`."""
    remaining = tuple(t for i, t in enumerate(parsed.transactions) if i not in positions)
    kept_revenue = [r for i, r in enumerate(revenue) if i not in positions]
    opening = parsed.opening_balance
    if opening is not None:
        # Derived balances start after the dropped rows that come before the first kept one.
        for i, t in enumerate(parsed.transactions):
            if i not in positions:
                break
            opening += t.amount
    trimmed = dataclasses.replace(
        parsed, transactions=remaining, opening_balance=opening, period_start=None, period_end=None
    )
    return (
        compute_statement_metrics(trimmed, revenue=kept_revenue),
        screen_transactions(remaining, revenue=kept_revenue),
    )
