"""Jobs in the Django admin: read-only, for operators looking into a stuck or failed job.

The one thing an operator may do is ask a job to stop, through the same service as
`POST /api/v1/jobs/{id}/cancel`.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from accounts.admin.tenancy import OrganizationScopedAdmin, ReadOnlyAdminMixin
from core.errors import Conflict
from jobs import services
from jobs.models import Job


@admin.register(Job)
class JobAdmin(ReadOnlyAdminMixin, OrganizationScopedAdmin[Job]):
    list_display = (
        "id",
        "organization",
        "type",
        "status",
        "progress_percent",
        "attempts",
        "created_at",
        "finished_at",
    )
    list_filter = ("status", "type", "billable", "organization")
    search_fields = ("id", "request_id")
    list_select_related = ("organization",)
    date_hierarchy = "created_at"
    # The jobs table grows fast; counting it twice per page is wasted work.
    show_full_result_count = False
    actions = ("request_cancellation",)
    fields = (
        "id",
        "organization",
        "type",
        "status",
        "progress",
        "message",
        "input",
        "results",
        "error",
        "billable",
        "attempts",
        "cancel_requested",
        "request_id",
        "created_at",
        "started_at",
        "heartbeat_at",
        "finished_at",
    )
    readonly_fields = fields

    @admin.display(description="Progress", ordering="progress")
    def progress_percent(self, job: Job) -> str:
        return f"{job.progress * 100:.0f} %"

    def has_cancel_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("jobs.change_job")

    @admin.action(
        description="Cancel the selected jobs (they stop at their next stage)", permissions=["cancel"]
    )
    def request_cancellation(self, request: HttpRequest, queryset: QuerySet[Job]) -> None:
        asked, finished = 0, 0
        for job in queryset.select_related("organization"):
            try:
                services.request_cancel(job.organization, job.pk)
            except Conflict:
                finished += 1
                continue
            self.log_change(request, job, "Cancellation requested")
            asked += 1
        self.message_user(request, f"Asked {asked} job(s) to stop.", messages.SUCCESS)
        if finished:
            self.message_user(request, f"{finished} job(s) had already ended.", messages.WARNING)
