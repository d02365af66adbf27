"""Deals in the Django admin: deals with their statements, statements, batches and proposals.

Workflow fields (status, score, decision) are read-only here: they change only through
deals.services, which enforces the status machine and publishes the events that feeds and
dashboards rely on. For the same reason deals are created in the dashboard or over the API.
"""

from __future__ import annotations

from django.contrib import admin
from django.db.models import Count, QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from accounts.admin.tenancy import OrganizationScopedAdmin, ReadOnlyAdminMixin
from deals.models import Batch, Deal, ProposedChange, Statement

STATEMENT_RESULT_FIELDS = (
    "filename",
    "size",
    "status",
    "stage",
    "format",
    "transaction_count",
    "error",
    "created_at",
    "completed_at",
)


class StatementInline(admin.TabularInline[Statement, Deal]):
    model = Statement
    extra = 0
    max_num = 0
    can_delete = False
    show_change_link = True
    fields = ("filename", "status", "stage", "format", "transaction_count", "error", "created_at")
    readonly_fields = fields


class ProposalInline(admin.TabularInline[ProposedChange, Deal]):
    model = ProposedChange
    extra = 0
    max_num = 0
    can_delete = False
    fields = ("id", "proposed", "status", "resolved_by", "resolved_at", "created_at")
    readonly_fields = fields
    verbose_name_plural = "proposed decisions"


@admin.register(Deal)
class DealAdmin(OrganizationScopedAdmin[Deal]):
    list_display = (
        "id",
        "business_name",
        "organization",
        "status",
        "health_score",
        "decision",
        "statement_count",
        "created_at",
    )
    list_display_links = ("id", "business_name")
    list_filter = ("status", "decision", "organization")
    search_fields = ("business_name", "external_ref", "=id")
    list_select_related = ("organization",)
    date_hierarchy = "created_at"
    inlines = (StatementInline, ProposalInline)
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "organization",
                    "business_name",
                    "amount_requested",
                    "external_ref",
                    "dashboard_link",
                )
            },
        ),
        ("Assessment", {"fields": ("status", "health_score", "recommendation", "flags", "explanations")}),
        ("Decision", {"fields": ("decision", "decision_note", "decided_by", "decided_at")}),
        ("History", {"fields": ("created_by", "created_at", "updated_at")}),
    )
    readonly_fields = (
        "organization",
        "dashboard_link",
        "status",
        "health_score",
        "recommendation",
        "flags",
        "explanations",
        "decision",
        "decision_note",
        "decided_by",
        "decided_at",
        "created_by",
        "created_at",
        "updated_at",
    )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def get_queryset(self, request: HttpRequest) -> QuerySet[Deal]:
        return super().get_queryset(request).annotate(statements_total=Count("statements"))

    @admin.display(description="Statements", ordering="statements_total")
    def statement_count(self, deal: Deal) -> int:
        return int(getattr(deal, "statements_total", 0))

    @admin.display(description="Dashboard")
    def dashboard_link(self, deal: Deal) -> str:
        return format_html('<a href="{}">Open the deal page</a>', reverse("deal-detail", args=[deal.pk]))


@admin.register(Statement)
class StatementAdmin(ReadOnlyAdminMixin, OrganizationScopedAdmin[Statement]):
    """Statements arrive by upload, so that they get a job and go through the pipeline."""

    organization_lookup = "deal__organization"
    list_display = ("id", "deal", "filename", "status", "stage", "format", "transaction_count", "created_at")
    list_filter = ("status", "format", "deal__organization")
    search_fields = ("filename", "=id", "deal__business_name", "job__id")
    list_select_related = ("deal",)
    # Without change permission (ReadOnlyAdminMixin) Django shows every listed field read-only.
    fields = ("deal", "job", "batch", *STATEMENT_RESULT_FIELDS, "summary", "metrics", "screening")


@admin.register(Batch)
class BatchAdmin(ReadOnlyAdminMixin, OrganizationScopedAdmin[Batch]):
    list_display = ("id", "deal", "organization", "status", "progress", "succeeded", "failed", "created_at")
    list_filter = ("status", "organization")
    search_fields = ("id", "deal__business_name")
    list_select_related = ("deal", "organization")
    fields = (
        "id",
        "organization",
        "deal",
        "total",
        "succeeded",
        "failed",
        "status",
        "created_by",
        "created_at",
        "completed_at",
    )

    @admin.display(description="Progress")
    def progress(self, batch: Batch) -> str:
        return batch.progress_label


@admin.register(ProposedChange)
class ProposedChangeAdmin(ReadOnlyAdminMixin, OrganizationScopedAdmin[ProposedChange]):
    """Proposals are approved or rejected on the deal page or over the API, never edited here."""

    organization_lookup = "deal__organization"
    list_display = ("id", "deal", "operation", "proposed", "status", "resolved_by", "created_at")
    list_filter = ("status", "deal__organization")
    search_fields = ("id", "deal__business_name")
    list_select_related = ("deal",)
    fields = (
        "id",
        "deal",
        "operation",
        "proposed",
        "explanation",
        "health_score",
        "status",
        "resolved_by",
        "resolved_at",
        "created_at",
    )
