"""What the deals API accepts and returns."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from rest_framework import serializers

from deals.models import (
    Batch,
    Deal,
    DealStatus,
    Decision,
    ProposedChange,
    Statement,
    Transaction,
    TransactionCategory,
)
from deals.transaction_list import TRANSACTION_COLUMNS
from deals.underwriting import FLAG_ORDER
from events.positions import EventPositionField

MAX_SIGNED_BIGINT = 2**63 - 1


class DealCreateIn(serializers.Serializer[Any]):
    business_name = serializers.CharField(max_length=200)
    amount_requested = serializers.DecimalField(
        max_digits=14, decimal_places=2, min_value=Decimal("0.01"), required=False, allow_null=True
    )
    external_ref = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")


class DealListQuery(serializers.Serializer[Any]):
    status = serializers.ChoiceField(choices=DealStatus.choices, required=False)
    search = serializers.CharField(max_length=200, required=False, allow_blank=True)


class DecisionIn(serializers.Serializer[Any]):
    decision = serializers.ChoiceField(choices=Decision.choices)
    note = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class BatchIn(serializers.Serializer[Any]):
    deal_id = serializers.IntegerField(min_value=1, max_value=MAX_SIGNED_BIGINT)


class WarningOut(serializers.Serializer[Any]):
    """A data-quality warning (docs/underwriting.md, "Warnings")."""

    # Codes outside the documented list (a parser's own) pass through: a ChoiceField renders a value
    # it does not know unchanged.
    code = serializers.ChoiceField(
        choices=[
            "reconciliation_failed",
            "rows_skipped",
            "short_history",
            "currency_mismatch",
            "duplicate_transactions",
            "overlapping_statements",
            "implausible_amounts",
        ],
        help_text="Stable code; parsers may add further codes of their own.",
    )
    message = serializers.CharField(help_text="Plain words for the underwriter.")
    evidence = serializers.DictField(
        help_text="What the warning rests on (rows, amounts, dates; `statement_id` on a deal's warnings)."
    )


class ReconciliationOut(serializers.Serializer[Any]):
    """Whether the statement's amounts add up to the balances its file states."""

    status = serializers.ChoiceField(choices=["passed", "failed", "not_possible"])
    difference = serializers.CharField(
        allow_null=True, help_text="Computed minus stated balance at the first mismatch, a decimal string."
    )
    first_bad_row = serializers.IntegerField(
        allow_null=True, help_text="Row of the file that does not add up."
    )
    detail = serializers.CharField(help_text="Why, in plain words.")


class SkippedRowOut(serializers.Serializer[Any]):
    row = serializers.IntegerField()
    reason = serializers.CharField()


class StatementOut(serializers.ModelSerializer[Statement]):
    job_id = serializers.CharField(allow_null=True, read_only=True)
    batch_id = serializers.CharField(allow_null=True, read_only=True)
    # --- data quality ---
    rows_skipped = SkippedRowOut(many=True, read_only=True)
    reconciliation = ReconciliationOut(read_only=True, allow_null=True)
    warnings = WarningOut(many=True, read_only=True)
    duplicate_of = serializers.IntegerField(source="duplicate_of_id", allow_null=True, read_only=True)

    class Meta:
        model = Statement
        fields = [
            "id",
            "filename",
            "size",
            "status",
            "stage",
            "format",
            "transaction_count",
            "summary",
            "metrics",
            "screening",
            "error",
            "job_id",
            "batch_id",
            "created_at",
            "completed_at",
            "account_type",
            "currency",
            "period_start",
            "period_end",
            "rows_skipped",
            "reconciliation",
            "warnings",
            "counted",
            "duplicate_of",
        ]
        read_only_fields = fields


class ProposalOut(serializers.ModelSerializer[ProposedChange]):
    change_id = serializers.CharField(source="pk", read_only=True)
    # null when no statement could be scored.
    health_score = serializers.DecimalField(
        max_digits=4, decimal_places=1, coerce_to_string=False, read_only=True, allow_null=True
    )
    deal_status = serializers.CharField(source="deal.status", read_only=True)

    class Meta:
        model = ProposedChange
        fields = [
            "change_id",
            "deal_id",
            "deal_status",
            "operation",
            "proposed",
            "explanation",
            "health_score",
            "status",
            "resolved_by",
            "resolved_at",
            "created_at",
        ]
        read_only_fields = fields


class DealOut(serializers.ModelSerializer[Deal]):
    # null until a statement has been scored.
    health_score = serializers.DecimalField(
        max_digits=4, decimal_places=1, coerce_to_string=False, read_only=True, allow_null=True
    )
    # "" until the pipeline proposes a decision; clients test for the empty string, so it stays
    # and the schema says so (a read-only model field would lose `allow_blank`).
    recommendation = serializers.ChoiceField(choices=Decision.choices, allow_blank=True, read_only=True)
    decision = serializers.SerializerMethodField()
    warnings = WarningOut(many=True, read_only=True)

    class Meta:
        model = Deal
        fields = [
            "id",
            "business_name",
            "amount_requested",
            "external_ref",
            "status",
            "health_score",
            "recommendation",
            "decision",
            "warnings",
            "created_by",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def get_decision(self, deal: Deal) -> dict[str, Any] | None:
        if not deal.decision:
            return None
        return {
            "decision": deal.decision,
            "note": deal.decision_note,
            "decided_by": deal.decided_by,
            "decided_at": serializers.DateTimeField().to_representation(deal.decided_at)
            if deal.decided_at
            else None,
        }


class FlagDetailOut(serializers.Serializer[Any]):
    """One flag of a deal with what it rests on (docs/underwriting.md, "Flag evidence")."""

    code = serializers.ChoiceField(choices=list(FLAG_ORDER))
    explanation = serializers.CharField()
    evidence = serializers.DictField(
        help_text="The transactions ({id, statement_id, date, amount, description, counterparty}), "
        "lenders or statements the flag rests on."
    )


class DealDetailOut(DealOut):
    statements = StatementOut(many=True, read_only=True)
    flag_details = FlagDetailOut(many=True, read_only=True)
    proposal = serializers.SerializerMethodField()
    score = serializers.JSONField(source="score_details", read_only=True)

    class Meta(DealOut.Meta):
        fields = [
            *DealOut.Meta.fields,
            "flags",
            "flag_details",
            "explanations",
            "score",
            "statements",
            "proposal",
        ]
        read_only_fields = fields

    def get_proposal(self, deal: Deal) -> dict[str, Any] | None:
        """The open proposal, if any (a decided or superseded one is history)."""
        proposal = deal.open_proposal
        return dict(ProposalOut(proposal).data) if proposal else None


class DealReadOut(DealDetailOut):
    """A deal as `GET /deals/{id}` returns it: with its feed's position (events/positions.py)."""

    event_position = EventPositionField()

    class Meta(DealDetailOut.Meta):
        fields = [*DealDetailOut.Meta.fields, "event_position"]
        read_only_fields = fields


class StatementAcceptedOut(serializers.Serializer[Any]):
    statement_id = serializers.IntegerField()
    job_id = serializers.CharField()
    status = serializers.CharField()


class BatchDocumentOut(serializers.ModelSerializer[Statement]):
    document_id = serializers.IntegerField(source="pk", read_only=True)
    job_id = serializers.CharField(allow_null=True, read_only=True)

    class Meta:
        model = Statement
        fields = ["document_id", "filename", "status", "stage", "error", "job_id"]
        read_only_fields = fields


class BatchOut(serializers.ModelSerializer[Batch]):
    batch_id = serializers.CharField(source="pk", read_only=True)
    progress = serializers.CharField(source="progress_label", read_only=True)
    documents = BatchDocumentOut(many=True, read_only=True)

    class Meta:
        model = Batch
        fields = [
            "batch_id",
            "deal_id",
            "status",
            "total",
            "succeeded",
            "failed",
            "progress",
            "documents",
            "created_by",
            "created_at",
            "completed_at",
        ]
        read_only_fields = fields


class BatchReadOut(BatchOut):
    """A batch as `GET /batches/{id}` returns it: with its feed's position."""

    event_position = EventPositionField()

    class Meta(BatchOut.Meta):
        fields = [*BatchOut.Meta.fields, "event_position"]
        read_only_fields = fields


# --- transactions ----------------------------------------------------------------------------


class TransactionListQuery(serializers.Serializer[Any]):
    statement_id = serializers.IntegerField(min_value=1, max_value=MAX_SIGNED_BIGINT, required=False)
    category = serializers.ChoiceField(choices=TransactionCategory.choices, required=False)
    flag = serializers.ChoiceField(choices=list(FLAG_ORDER), required=False)
    date_from = serializers.DateField(required=False)
    date_to = serializers.DateField(required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if "date_from" in attrs and "date_to" in attrs and attrs["date_from"] > attrs["date_to"]:
            raise serializers.ValidationError({"date_to": ["date_to is before date_from."]})
        return attrs


class TransactionOut(serializers.ModelSerializer[Transaction]):
    statement_id = serializers.IntegerField(read_only=True)
    counterparty = serializers.SerializerMethodField()
    flags = serializers.ListField(child=serializers.CharField(), read_only=True)

    def get_counterparty(self, row: Transaction) -> str | None:
        """null when the file names none (as in flag evidence)."""
        return row.counterparty or None

    class Meta:
        model = Transaction
        fields = list(TRANSACTION_COLUMNS)
        read_only_fields = fields


class RevenueCorrectionIn(serializers.Serializer[Any]):
    counted = serializers.BooleanField()
    note = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")

    def validate_counted(self, value: Any) -> bool:
        # DRF's BooleanField also takes "yes"/"1"; the contract says a JSON boolean.
        if not isinstance(self.initial_data.get("counted"), bool):
            raise serializers.ValidationError("Must be true or false.")
        return bool(value)


class RevenueCorrectionOut(serializers.Serializer[Any]):
    transaction = TransactionOut()
    deal = DealDetailOut()
