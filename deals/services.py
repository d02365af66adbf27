"""Deal workflows that span several models: creating deals, taking statements, settling a
statement's outcome (for the statement pipeline, through its job handle), proposals and
decisions, and an underwriter's corrections (revenue treatment, removed statements).

The deal's status machine is the model's (`Deal.move_to`, `Deal.settle`); every change
happens with the deal row locked and in the same transaction as the change that causes it.

Lock order (see jobs/handle.py): job, deal, statement, batch, proposal, organisation; events
are published last.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from django.core.files import File
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from accounts.models import Organization
from core.errors import Conflict, Invalid, NotFound, Unsupported
from deals import ledger
from deals.evidence import deal_flag_details
from deals.models import (
    Batch,
    BatchStatus,
    Deal,
    DealStatus,
    ProposalStatus,
    ProposedChange,
    Statement,
    StatementStatus,
    Transaction,
    statement_upload_path,
)
from deals.parsing import ParsedStatement, not_statements
from deals.quality import (
    EarlierStatement,
    StatementFacts,
    account_type_findings,
    currency_findings,
    deal_currency,
    find_overlap,
    history_days,
    is_scored_account,
    short_history_finding,
    stated_period_is_plausible,
    statement_findings,
    statement_period,
    transaction_keys,
)
from deals.reconciliation import reconcile
from deals.stored import screening_json, to_json
from deals.underwriting import (
    HealthScore,
    Screening,
    StatementMetrics,
    compute_statement_metrics,
    gate_recommendation,
    score_deal,
    screen_transactions,
)
from deals.uploads import Document
from events.publish import publish_event
from jobs import services as jobs
from jobs.handle import JobRun
from jobs.models import Job

logger = logging.getLogger(__name__)

STATEMENT_JOB = "statement"
BATCH_DOCUMENT_JOB = "batch_document"
CANCELED_REASON = "Processing was canceled"


# --- deals -------------------------------------------------------------------------------


def create_deal(
    organization: Organization,
    *,
    business_name: str,
    amount_requested: Decimal | None = None,
    external_ref: str = "",
    created_by: str,
) -> Deal:
    """Create a deal in status `new` and announce it (`deal.created`)."""
    with transaction.atomic():
        deal = Deal.objects.create(
            organization=organization,
            business_name=business_name,
            amount_requested=amount_requested,
            external_ref=external_ref,
            created_by=created_by,
        )
        publish_event(
            organization.pk,
            "deal.created",
            {
                "deal_id": deal.pk,
                "business_name": deal.business_name,
                "created_by": created_by,
                # Beyond the catalogue's fields, so a live deal list can show the new row whole.
                "amount_requested": None if amount_requested is None else f"{deal.amount_requested:.2f}",
                "external_ref": external_ref,
            },
        )
    return deal


def _lock_deal(organization: Organization, deal_id: int) -> Deal:
    deal = Deal.objects.select_for_update(no_key=True).filter(organization=organization, pk=deal_id).first()
    if deal is None:
        raise NotFound("No such deal.")
    return deal


# --- taking statements -------------------------------------------------------------------


def add_statements(
    organization: Organization,
    deal_id: int,
    documents: Sequence[Document],
    *,
    created_by: str,
    request_id: str = "",
    as_batch: bool = False,
) -> tuple[list[Statement], Batch | None]:
    """Store the documents as statements of the deal, each with a queued job (402 over quota).

    The deal moves to `processing` (superseding an open proposal if it was under review); a
    decided deal refuses statements (409). The jobs start once the transaction commits.
    """
    deal = _get_deal(organization, deal_id)
    _refuse_if_decided(deal)
    _refuse_non_statements(documents)
    jobs.check_quota(organization, len(documents))
    # Files are written before the transaction: publishing events holds the organisation's
    # event sequence until commit, which must not wait for 50 files to reach the disk.
    saved: list[str] = []
    try:
        for doc in documents:
            saved.append(default_storage.save(statement_upload_path(deal, doc.filename), File(doc.content)))
        with transaction.atomic():
            deal = _lock_deal(organization, deal_id)
            _refuse_if_decided(deal)
            job_type = BATCH_DOCUMENT_JOB if as_batch else STATEMENT_JOB
            created = jobs.create_jobs(
                organization,
                job_type,
                [{"deal_id": deal.pk, "filename": doc.filename} for doc in documents],
                request_id=request_id,
                submit=False,
            )
            batch = None
            if as_batch:
                batch = Batch.objects.create(
                    organization=organization, deal=deal, total=len(documents), created_by=created_by
                )
            statements = []
            for doc, job, name in zip(documents, created, saved, strict=True):
                statement = Statement.objects.create(
                    deal=deal, job=job, batch=batch, file=name, filename=doc.filename, size=doc.size
                )
                statements.append(statement)
                job.input = {**job.input, "statement_id": statement.pk}
                if batch is not None:
                    job.input["batch_id"] = batch.pk
            Job.objects.bulk_update(created, ["input"])
            if deal.status == DealStatus.UNDER_REVIEW:
                _supersede_open_proposal(deal)
            deal.move_to(DealStatus.PROCESSING)
            for job in created:
                jobs.submit_job(job)
    except BaseException:
        # Nothing refers to the stored files any more; do not leave them behind.
        for name in saved:
            default_storage.delete(name)
        raise
    return statements, batch


def _get_deal(organization: Organization, deal_id: int) -> Deal:
    deal = Deal.objects.filter(organization=organization, pk=deal_id).first()
    if deal is None:
        raise NotFound("No such deal.")
    return deal


def _refuse_if_decided(deal: Deal) -> None:
    if deal.is_decided:
        raise Conflict(f"The deal is already {deal.status}; it accepts no more statements.", "deal_decided")


def _refuse_non_statements(documents: Sequence[Document]) -> None:
    """415 for a file that is clearly not a statement (a photo, a Word document...), saying what
    to upload instead; nothing of the upload is stored."""
    for doc in documents:
        kind = not_statements.describe(doc.content)
        if kind is not None:
            raise Unsupported(
                f"{doc.filename} is {kind}, not a bank statement. {not_statements.advice(kind)}",
                "not_a_statement",
            )


def _supersede_open_proposal(deal: Deal) -> None:
    ProposedChange.objects.filter(deal=deal, status=ProposalStatus.OPEN).update(
        status=ProposalStatus.SUPERSEDED, resolved_at=timezone.now(), resolved_by="system"
    )


def read_statement_file(statement: Statement) -> bytes:
    """The uploaded bytes, from MEDIA_ROOT (shared by web and worker processes)."""
    with statement.file.open("rb") as handle:
        return handle.read()


# --- settling a statement's outcome (called by the pipeline, one transaction each) -------


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
    categories: Sequence[str] | None = None,
    revenue: Sequence[bool] | None = None,
) -> Decimal | None:
    """The `completed` boundary: store the statement's results, rescore the deal, settle it.

    `categories`/`revenue` are the transactions' categories and revenue treatment (computed
    from `parsed` when not given). Returns the deal's new health score. Raises JobCanceled
    (cancellation requested during the last stage) or JobLost, in which case nothing is stored.
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
                "health_score": _score_number(deal.health_score),
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
                "health_score": _score_number(deal.health_score),
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
    if error is None:
        batch.succeeded += 1
    else:
        batch.failed += 1
    data: dict[str, Any] = {
        "batch_id": batch.pk,
        "document_id": statement.pk,
        "progress": batch.progress_label,
    }
    if error is None:
        publish_event(
            batch.organization_id,
            "batch.document_processed",
            {**data, "status": statement.status},
        )
    else:
        publish_event(
            batch.organization_id,
            "batch.document_failed",
            {**data, "status": statement.status, "error": error},
        )
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
    _propose_decision(deal)


def rescore_deal(deal: Deal) -> HealthScore | None:
    """Score a (locked) deal from its counted statements and store the result and its warnings.

    Counted: completed, not an entire repeat of another statement, in the deal's currency. The
    recommendation is made safe (`gate_recommendation`). Returns None, and clears the score,
    when no statement could be read.
    """
    completed = list(deal.statements.filter(status=StatementStatus.COMPLETED).order_by("completed_at", "pk"))
    counted, deal_findings, days = _counted_statements(completed)
    inputs = [statement.scoring_inputs() for statement in counted]
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
        deal.warnings = _merged_warnings(completed, deal_findings)
        deal.save(update_fields=[*_SCORE_FIELDS, "updated_at"])
        return None
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
    deal.warnings = _merged_warnings(completed, deal_findings)
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


def _propose_decision(deal: Deal) -> ProposedChange:
    """Replace any open proposal of the locked deal by a new one and publish `proposed_change`."""
    _supersede_open_proposal(deal)
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


def _score_number(score: Decimal | None) -> float | None:
    # JSON has no decimal type; one decimal digit survives a float exactly as printed.
    return None if score is None else float(score)


# --- data quality: reconciliation, warnings, statements that repeat each other ----------------


def _record_quality(
    deal: Deal,
    statement: Statement,
    parsed: ParsedStatement,
    metrics: StatementMetrics,
    screening: Screening,
    *,
    revenue: Sequence[bool] | None = None,
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
    parsed: ParsedStatement, positions: frozenset[int], revenue: Sequence[bool] | None
) -> tuple[StatementMetrics, Screening]:
    """Metrics and screening of the statement's transactions that are not in `positions`."""
    remaining = tuple(t for i, t in enumerate(parsed.transactions) if i not in positions)
    kept_revenue = None if revenue is None else [r for i, r in enumerate(revenue) if i not in positions]
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


# --- decisions -----------------------------------------------------------------------------


def decide(
    organization: Organization, deal_id: int, decision: str, *, note: str = "", decided_by: str
) -> Deal:
    """Decide a deal under review directly (409 otherwise); an open proposal is superseded."""
    with transaction.atomic():
        deal = _lock_deal(organization, deal_id)
        _apply_decision(deal, decision, note=note, decided_by=decided_by)
        _supersede_open_proposal(deal)
    return deal


def _apply_decision(deal: Deal, decision: str, *, note: str, decided_by: str) -> None:
    if deal.status != DealStatus.UNDER_REVIEW:
        raise Conflict(
            f"Only a deal under review can be decided; this one is {deal.status}.", "deal_not_under_review"
        )
    deal.record_decision(decision, note=note, decided_by=decided_by)


def _lock_change(organization: Organization, change_id: str) -> tuple[Deal, ProposedChange]:
    found = (
        ProposedChange.objects.filter(deal__organization=organization, pk=change_id).values("deal_id").first()
    )
    if found is None:
        raise NotFound("No such proposed change.")
    deal = Deal.objects.select_for_update(no_key=True).get(pk=found["deal_id"])
    change = ProposedChange.objects.select_for_update(no_key=True).get(pk=change_id)
    if change.status != ProposalStatus.OPEN:
        raise Conflict(f"This proposal is {change.status}, no longer open.", "change_not_open")
    return deal, change


def approve_change(organization: Organization, change_id: str, *, resolved_by: str) -> ProposedChange:
    """Apply an open proposal: its decision is taken, with `decided_by` the approver."""
    with transaction.atomic():
        deal, change = _lock_change(organization, change_id)
        change.resolve(ProposalStatus.APPROVED, resolved_by)
        _apply_decision(
            deal, change.proposed["decision"], note=f"Approved proposal {change.pk}", decided_by=resolved_by
        )
    return change


def reject_change(organization: Organization, change_id: str, *, resolved_by: str) -> ProposedChange:
    """Discard an open proposal; the deal stays under review for a direct decision."""
    with transaction.atomic():
        deal, change = _lock_change(organization, change_id)
        change.resolve(ProposalStatus.REJECTED, resolved_by)
        publish_event(
            deal.organization_id,
            "proposal.rejected",
            {"change_id": change.pk, "deal_id": deal.pk, "rejected_by": resolved_by},
        )
    return change


# --- corrections under review: revenue treatment, removed statements -----------------------


def correct_revenue(
    organization: Organization,
    deal_id: int,
    transaction_id: int,
    *,
    counted: bool,
    note: str = "",
    changed_by: str,
) -> Transaction:
    """Count (or stop counting) one transaction as revenue, then re-measure its statement and
    re-score the deal (`deal.rescored`). 404 for another organisation's deal or transaction,
    409 on a decided deal."""
    with transaction.atomic():
        deal = _lock_deal(organization, deal_id)
        _refuse_change_if_decided(deal)
        # The deal's lock serialises every writer of its transactions (completions included).
        row = Transaction.objects.filter(deal=deal, pk=transaction_id).first()
        if row is None:
            raise NotFound("No such transaction.")
        if counted and row.amount <= 0:
            raise Invalid(
                "Only money coming in can count as revenue.",
                fields={"counted": ["This transaction is a debit; only a deposit can count as revenue."]},
            )
        statement = Statement.objects.select_for_update(no_key=True).get(pk=row.statement_id)
        row.revenue_override = counted
        row.counted_as_revenue = counted
        row.revenue_note = note
        row.revenue_changed_by = changed_by
        row.revenue_changed_at = timezone.now()
        row.save(
            update_fields=[
                "revenue_override",
                "counted_as_revenue",
                "revenue_note",
                "revenue_changed_by",
                "revenue_changed_at",
            ]
        )
        if statement.status == StatementStatus.COMPLETED:
            ledger.remeasure_statement(statement)
        treatment = "counted as revenue" if counted else "not counted as revenue"
        reason = f"Transaction {row.pk} ({row.date.isoformat()}, {row.amount:f}) is now {treatment}"
        _rescore_after_correction(deal, changed_by=changed_by, reason=reason + (f": {note}" if note else "."))
    return row


def remove_statement(organization: Organization, deal_id: int, statement_id: int, *, removed_by: str) -> Deal:
    """Delete a statement (its transactions and file with it) so it no longer counts, then
    re-score the deal. Publishes `statement.removed` and `deal.rescored`. 404 for another
    organisation's deal or statement; 409 on a decided deal or while the statement is processed."""
    with transaction.atomic():
        deal = _lock_deal(organization, deal_id)
        _refuse_change_if_decided(deal)
        statement = (
            Statement.objects.select_for_update(no_key=True).filter(deal=deal, pk=statement_id).first()
        )
        if statement is None:
            raise NotFound("No such statement.")
        if statement.is_in_flight:
            raise Conflict(
                "The statement is still being processed; cancel its job or wait for it to finish.",
                "statement_in_flight",
            )
        name = statement.file.name
        statement.delete()
        publish_event(
            deal.organization_id,
            "statement.removed",
            {"deal_id": deal.pk, "statement_id": statement_id, "removed_by": removed_by},
        )
        _rescore_after_correction(
            deal, changed_by=removed_by, reason=f"Statement {statement_id} was removed from the deal."
        )
        if name:
            transaction.on_commit(lambda: default_storage.delete(name))
    return deal


def _refuse_change_if_decided(deal: Deal) -> None:
    if deal.is_decided:
        raise Conflict(f"The deal is already {deal.status}; its score can no longer change.", "deal_decided")


def _rescore_after_correction(deal: Deal, *, changed_by: str, reason: str) -> None:
    """Re-score a locked deal after an underwriter's correction and say so (`deal.rescored`); a
    deal under review gets a fresh proposal in place of the pending one."""
    previous = deal.health_score
    rescore_deal(deal)
    publish_event(
        deal.organization_id,
        "deal.rescored",
        {
            "deal_id": deal.pk,
            "health_score": _score_number(deal.health_score),
            "previous_score": _score_number(previous),
            "changed_by": changed_by,
            "reason": reason,
        },
    )
    if deal.status == DealStatus.UNDER_REVIEW:
        _propose_decision(deal)
    else:
        _supersede_open_proposal(deal)
