"""Deal workflows that the API and the dashboard call: creating deals, taking statements,
decisions on proposals, and an underwriter's corrections (revenue treatment, removed
statements). What happens once a statement is processed is deals.statement_outcomes; how a
deal is scored from its statements, deals.rescoring.

The deal's status machine is the model's (`Deal.move_to`, `Deal.settle`); every change
happens with the deal row locked and in the same transaction as the change that causes it.

Lock order (see jobs/handle.py): job, deal, statement, batch, proposal, organisation; events
are published last.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from django.core.files import File
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from accounts.models import Organization
from core.errors import Conflict, Invalid, NotFound, Unsupported
from deals import ledger
from deals.models import (
    Batch,
    Deal,
    DealStatus,
    ProposalStatus,
    ProposedChange,
    Statement,
    StatementStatus,
    Transaction,
    statement_upload_path,
)
from deals.parsing import not_statements
from deals.rescoring import rescore_after_correction, supersede_open_proposal
from deals.uploads import Document
from events.publish import publish_event
from jobs import services as jobs
from jobs.models import Job

STATEMENT_JOB = "statement"
BATCH_DOCUMENT_JOB = "batch_document"
# Why a decided deal refuses a change (409 `deal_decided`).
NO_MORE_STATEMENTS = "it accepts no more statements"
SCORE_IS_FINAL = "its score can no longer change"


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


def _find_deal(organization: Organization, deal_id: int, *, lock: bool = False) -> Deal:
    deals = Deal.objects.filter(organization=organization, pk=deal_id)
    deal = (deals.select_for_update(no_key=True) if lock else deals).first()
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
    deal = _find_deal(organization, deal_id)
    _refuse_if_decided(deal, NO_MORE_STATEMENTS)
    _refuse_non_statements(documents)
    jobs.check_quota(organization, len(documents))
    # Files are written before the transaction: publishing events holds the organisation's
    # event sequence until commit, which must not wait for 50 files to reach the disk.
    saved: list[str] = []
    try:
        for doc in documents:
            saved.append(default_storage.save(statement_upload_path(deal, doc.filename), File(doc.content)))
        with transaction.atomic():
            deal = _find_deal(organization, deal_id, lock=True)
            _refuse_if_decided(deal, NO_MORE_STATEMENTS)
            created = jobs.create_jobs(
                organization,
                BATCH_DOCUMENT_JOB if as_batch else STATEMENT_JOB,
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
                supersede_open_proposal(deal)
            deal.move_to(DealStatus.PROCESSING)
            for job in created:
                jobs.submit_job(job)
    except BaseException:
        # Nothing refers to the stored files any more; do not leave them behind.
        for name in saved:
            default_storage.delete(name)
        raise
    return statements, batch


def _refuse_if_decided(deal: Deal, consequence: str) -> None:
    if deal.is_decided:
        raise Conflict(f"The deal is already {deal.status}; {consequence}.", "deal_decided")


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


# --- decisions -----------------------------------------------------------------------------


def decide(
    organization: Organization, deal_id: int, decision: str, *, note: str = "", decided_by: str
) -> Deal:
    """Decide a deal under review directly (409 otherwise); an open proposal is superseded."""
    with transaction.atomic():
        deal = _find_deal(organization, deal_id, lock=True)
        _apply_decision(deal, decision, note=note, decided_by=decided_by)
        supersede_open_proposal(deal)
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
        deal = _find_deal(organization, deal_id, lock=True)
        _refuse_if_decided(deal, SCORE_IS_FINAL)
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
        treatment = {
            "revenue_override": counted,
            "counted_as_revenue": counted,
            "revenue_note": note,
            "revenue_changed_by": changed_by,
            "revenue_changed_at": timezone.now(),
        }
        for name, value in treatment.items():
            setattr(row, name, value)
        row.save(update_fields=list(treatment))
        if statement.status == StatementStatus.COMPLETED:
            ledger.remeasure_statement(statement)
        now = "counted as revenue" if counted else "not counted as revenue"
        reason = f"Transaction {row.pk} ({row.date.isoformat()}, {row.amount:f}) is now {now}"
        rescore_after_correction(deal, changed_by=changed_by, reason=reason + (f": {note}" if note else "."))
    return row


def remove_statement(organization: Organization, deal_id: int, statement_id: int, *, removed_by: str) -> Deal:
    """Delete a statement (its transactions and file with it) so it no longer counts, then
    re-score the deal. Publishes `statement.removed` and `deal.rescored`. 404 for another
    organisation's deal or statement; 409 on a decided deal or while the statement is processed."""
    with transaction.atomic():
        deal = _find_deal(organization, deal_id, lock=True)
        _refuse_if_decided(deal, SCORE_IS_FINAL)
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
        rescore_after_correction(
            deal, changed_by=removed_by, reason=f"Statement {statement_id} was removed from the deal."
        )
        if name:
            transaction.on_commit(lambda: default_storage.delete(name))
    return deal
