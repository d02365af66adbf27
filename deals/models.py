"""Deals, their bank statements, bulk batches of statements and proposed decisions."""

from __future__ import annotations

import re

from django.db import models
from django.utils import timezone
from ulid import ULID

from deals.categories import TransactionCategory
from deals.stored import load_metrics, load_screening
from deals.underwriting import Screening, StatementMetrics
from events.publish import publish_event


class DealStatus(models.TextChoices):
    NEW = "new", "New"
    PROCESSING = "processing", "Processing"
    UNDER_REVIEW = "under_review", "Under review"
    APPROVED = "approved", "Approved"
    DECLINED = "declined", "Declined"


class Decision(models.TextChoices):
    APPROVED = "approved", "Approved"
    DECLINED = "declined", "Declined"


DECIDED_STATUSES = frozenset({DealStatus.APPROVED, DealStatus.DECLINED})


class Deal(models.Model):
    """A financing request: a business, the statements it sent, its score and the decision."""

    organization = models.ForeignKey("accounts.Organization", on_delete=models.CASCADE, related_name="deals")
    business_name = models.CharField(max_length=200)
    amount_requested = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    external_ref = models.CharField(max_length=100, blank=True, default="")
    status = models.CharField(max_length=16, choices=DealStatus.choices, default=DealStatus.NEW)
    # Recomputed from every parsed statement whenever one completes and when review starts.
    health_score = models.DecimalField(max_digits=4, decimal_places=1, null=True, blank=True)
    flags = models.JSONField(default=list, blank=True)
    # One entry per flag, same order: {"code", "explanation", "evidence"} (deals.evidence).
    flag_details = models.JSONField(default=list, blank=True)
    explanations = models.JSONField(default=list, blank=True)
    recommendation = models.CharField(max_length=16, choices=Decision.choices, blank=True, default="")
    score_details = models.JSONField(null=True, blank=True)
    # Every statement's warnings merged with the deal-level ones (history, currency), recomputed
    # with the score.
    warnings = models.JSONField(default=list, blank=True)
    decision = models.CharField(max_length=16, choices=Decision.choices, blank=True, default="")
    decision_note = models.TextField(blank=True, default="")
    decided_by = models.CharField(max_length=200, blank=True, default="")
    decided_at = models.DateTimeField(null=True, blank=True)
    created_by = models.CharField(max_length=200, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["organization", "-created_at"], name="deal_org_created"),
            models.Index(fields=["organization", "status"], name="deal_org_status"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.business_name} ({self.status})"

    @property
    def is_decided(self) -> bool:
        return self.status in DECIDED_STATUSES

    @property
    def open_proposal(self) -> ProposedChange | None:
        return self.proposals.filter(status=ProposalStatus.OPEN).first()

    # --- status machine -------------------------------------------------------------------
    # `new` → `processing` (first statement) → `under_review` (no statement left in flight)
    # → `approved` | `declined`; a statement uploaded under review takes the deal back to
    # `processing`. Call these on a row locked with `select_for_update(no_key=True)`, in the
    # transaction of the change that causes them: two statements finishing at once then
    # serialise on the deal, and exactly one of them starts the review.

    def move_to(self, status: str) -> bool:
        """Move to `status`, publishing `deal.status_changed` once per real change; True if it moved."""
        if self.status == status:
            return False
        old_status = self.status
        self.status = status
        self.save(update_fields=["status", "updated_at"])
        publish_event(
            self.organization_id,
            "deal.status_changed",
            {"deal_id": self.pk, "old_status": old_status, "new_status": status},
        )
        return True

    def settle(self) -> bool:
        """After one of its statements ended: `processing` while another is in flight, else
        `under_review`. True when this call started the review (the caller then proposes)."""
        if self.is_decided:
            return False
        in_flight = self.statements.filter(status__in=IN_FLIGHT_STATEMENT_STATUSES).exists()
        target = DealStatus.PROCESSING if in_flight else DealStatus.UNDER_REVIEW
        return self.move_to(target) and target == DealStatus.UNDER_REVIEW

    def record_decision(self, decision: str, *, note: str, decided_by: str) -> None:
        """Store the underwriter's decision, publish `deal.decision`, and move to that status."""
        self.decision = decision
        self.decision_note = note
        self.decided_by = decided_by
        self.decided_at = timezone.now()
        self.save(update_fields=["decision", "decision_note", "decided_by", "decided_at", "updated_at"])
        publish_event(
            self.organization_id,
            "deal.decision",
            {"deal_id": self.pk, "decision": decision, "decided_by": decided_by},
        )
        self.move_to(decision)


class StatementStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    PROCESSING = "processing", "Processing"
    COMPLETED = "completed", "Completed"
    FAILED = "failed", "Failed"
    CANCELED = "canceled", "Canceled"


IN_FLIGHT_STATEMENT_STATUSES = (StatementStatus.QUEUED, StatementStatus.PROCESSING)

_SAFE_EXTENSION = re.compile(r"^\.[a-z0-9]{1,8}$")


def statement_upload_path(deal: Deal, filename: str) -> str:
    """A generated storage name: the client's file name is kept in a column, never in a path."""
    extension = ("." + filename.rsplit(".", 1)[-1].lower()) if "." in filename else ""
    if not _SAFE_EXTENSION.match(extension):
        extension = ""
    return f"statements/{deal.organization_id}/{deal.pk}/{ULID()}{extension}"


def _upload_to(instance: Statement, filename: str) -> str:
    return statement_upload_path(instance.deal, filename)


class Statement(models.Model):
    """One uploaded bank statement file and what the pipeline made of it."""

    deal = models.ForeignKey(Deal, on_delete=models.CASCADE, related_name="statements")
    job = models.OneToOneField(
        "jobs.Job", on_delete=models.SET_NULL, null=True, blank=True, related_name="statement"
    )
    batch = models.ForeignKey(
        "deals.Batch", on_delete=models.SET_NULL, null=True, blank=True, related_name="documents"
    )
    file = models.FileField(upload_to=_upload_to, max_length=255)
    filename = models.CharField(max_length=255)
    size = models.PositiveBigIntegerField(default=0)
    status = models.CharField(max_length=16, choices=StatementStatus.choices, default=StatementStatus.QUEUED)
    stage = models.CharField(max_length=32, blank=True, default="")
    format = models.CharField(max_length=8, blank=True, default="")
    transaction_count = models.PositiveIntegerField(null=True, blank=True)
    summary = models.JSONField(null=True, blank=True)
    metrics = models.JSONField(null=True, blank=True)
    screening = models.JSONField(null=True, blank=True)
    error = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    # --- data quality (docs/underwriting.md, "Reconciliation" and "Warnings") ---
    account_type = models.CharField(max_length=16, blank=True, default="")
    currency = models.CharField(max_length=8, blank=True, default="")
    period_start = models.DateField(null=True, blank=True)
    period_end = models.DateField(null=True, blank=True)
    rows_skipped = models.JSONField(default=list, blank=True)  # [{row, reason}]
    reconciliation = models.JSONField(null=True, blank=True)  # {status, difference, first_bad_row, detail}
    warnings = models.JSONField(default=list, blank=True)  # [{code, message, evidence}]
    # Whether the deal's score counts this statement (not when it repeats another one entirely,
    # or is in another currency than the deal); set each time the deal is scored.
    counted = models.BooleanField(default=True)
    duplicate_of = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # Fingerprints of the transactions (deals.quality.transaction_key), in statement order, so a
    # later statement can be matched against this one without storing the transactions.
    transaction_keys = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["deal", "status"], name="statement_deal_status")]

    def __str__(self) -> str:
        return f"statement {self.pk} of deal {self.deal_id} ({self.status})"

    @property
    def is_in_flight(self) -> bool:
        return self.status in IN_FLIGHT_STATEMENT_STATUSES

    def scoring_inputs(self) -> tuple[StatementMetrics, Screening]:
        """The stored metrics and screening of a completed statement, as the scorer takes them."""
        if self.metrics is None or self.screening is None:
            raise ValueError(f"Statement {self.pk} has no metrics")
        return load_metrics(self.metrics), load_screening(self.screening)


class Transaction(models.Model):
    """One transaction of a completed statement, its category, risk flags and revenue treatment.

    `deal` repeats `statement.deal` so a deal's transactions are one indexed query; tenancy
    goes through the deal's organisation.
    """

    # No single-column indexes on these: the two composite indexes below start with them, and
    # every index costs write time when 10,000 rows of a statement are stored at once. `deal` has
    # no database constraint either: it is always the statement's deal (which the statement's
    # constraint already guards), and each constraint is one deferred check per row at commit,
    # about 0.1 s for 10,000 rows. Deleting a deal still cascades here (Django's collector).
    statement = models.ForeignKey(
        Statement, on_delete=models.CASCADE, related_name="transactions", db_index=False
    )
    deal = models.ForeignKey(
        Deal, on_delete=models.CASCADE, related_name="transactions", db_index=False, db_constraint=False
    )
    # Order in the parsed statement (chronological, same-day order as in the file).
    position = models.PositiveIntegerField()
    date = models.DateField()
    description = models.TextField(blank=True, default="")
    counterparty = models.TextField(blank=True, default="")
    account = models.CharField(max_length=100, blank=True, default="")
    amount = models.DecimalField(max_digits=20, decimal_places=2)
    balance = models.DecimalField(max_digits=20, decimal_places=2, null=True, blank=True)
    category = models.CharField(max_length=24, choices=TransactionCategory.choices)
    flags = models.JSONField(default=list, blank=True)
    # Effective treatment: the category's, unless an underwriter overrode it.
    counted_as_revenue = models.BooleanField(default=False)
    revenue_override = models.BooleanField(null=True, blank=True)
    revenue_note = models.TextField(blank=True, default="")
    revenue_changed_by = models.CharField(max_length=200, blank=True, default="")
    revenue_changed_at = models.DateTimeField(null=True, blank=True)
    # Where it stands in the file (line or OFX index), as the parser reported it.
    row = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["date", "statement_id", "position"]
        indexes = [
            models.Index(fields=["deal", "date", "statement", "position"], name="transaction_deal_date"),
            models.Index(fields=["statement", "position"], name="transaction_statement_pos"),
        ]

    def __str__(self) -> str:
        return f"{self.date} {self.amount} {self.description[:40]}"


class BatchStatus(models.TextChoices):
    PROCESSING = "processing", "Processing"
    COMPLETED = "completed", "Completed"


def new_batch_id() -> str:
    return f"batch_{ULID()}"


class Batch(models.Model):
    """Documents uploaded together for one deal; each is a statement with its own job."""

    id = models.CharField(primary_key=True, max_length=40, default=new_batch_id, editable=False)
    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.CASCADE, related_name="batches"
    )
    deal = models.ForeignKey(Deal, on_delete=models.CASCADE, related_name="batches")
    total = models.PositiveIntegerField()
    succeeded = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    status = models.CharField(max_length=16, choices=BatchStatus.choices, default=BatchStatus.PROCESSING)
    created_by = models.CharField(max_length=200, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "batches"

    def __str__(self) -> str:
        return f"{self.pk} ({self.done}/{self.total})"

    @property
    def done(self) -> int:
        return self.succeeded + self.failed

    @property
    def progress_label(self) -> str:
        return f"{self.done}/{self.total}"


class ProposalStatus(models.TextChoices):
    OPEN = "open", "Open"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"
    SUPERSEDED = "superseded", "Superseded"


def new_change_id() -> str:
    return f"ch_{ULID()}"


class ProposedChange(models.Model):
    """A decision the pipeline proposes when a deal reaches review; a human approves or rejects it."""

    id = models.CharField(primary_key=True, max_length=40, default=new_change_id, editable=False)
    deal = models.ForeignKey(Deal, on_delete=models.CASCADE, related_name="proposals")
    operation = models.CharField(max_length=32, default="set_decision")
    proposed = models.JSONField()
    explanation = models.TextField()
    health_score = models.DecimalField(max_digits=4, decimal_places=1, null=True, blank=True)
    status = models.CharField(max_length=16, choices=ProposalStatus.choices, default=ProposalStatus.OPEN)
    resolved_by = models.CharField(max_length=200, blank=True, default="")
    resolved_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            # The pipeline supersedes before it proposes; this makes a slip impossible to store.
            models.UniqueConstraint(
                fields=["deal"], condition=models.Q(status="open"), name="one_open_proposal_per_deal"
            )
        ]

    def __str__(self) -> str:
        return f"{self.pk} {self.operation} {self.proposed} ({self.status})"

    def resolve(self, status: str, resolved_by: str) -> None:
        """Close the proposal as approved, rejected or superseded, recording who and when."""
        self.status = status
        self.resolved_by = resolved_by
        self.resolved_at = timezone.now()
        self.save(update_fields=["status", "resolved_by", "resolved_at"])
