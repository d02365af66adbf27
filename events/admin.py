"""Stored events in the Django admin: read-only, filterable by type, searchable by ids."""

from __future__ import annotations

import json
from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html

from accounts.admin.tenancy import OrganizationScopedAdmin, ReadOnlyAdminMixin
from events.catalogue import EVENT_FEEDS
from events.models import Event


class EventTypeFilter(admin.SimpleListFilter):
    """Types from the catalogue, so the filter costs no DISTINCT over the whole table."""

    title = "type"
    parameter_name = "type"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(name, name) for name in sorted([*EVENT_FEEDS, "stream.reset"])]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        return queryset.filter(type=value) if value else queryset


@admin.register(Event)
class EventAdmin(ReadOnlyAdminMixin, OrganizationScopedAdmin[Event]):
    list_display = ("id", "type", "organization", "deal_id", "batch_id", "job_id", "request_id", "created_at")
    list_filter = (EventTypeFilter, "organization")
    search_fields = ("=request_id", "=batch_id", "=job_id", "=deal_id")
    list_select_related = ("organization",)
    show_full_result_count = False
    fields = (
        "id",
        "organization",
        "seq",
        "type",
        "pretty_data",
        "in_org_feed",
        "deal_id",
        "batch_id",
        "job_id",
        "request_id",
        "created_at",
    )
    readonly_fields = fields

    @admin.display(description="Data")
    def pretty_data(self, event: Event) -> str:
        return format_html("<pre>{}</pre>", json.dumps(event.data, indent=2, ensure_ascii=False))

    def has_delete_permission(self, request: HttpRequest, obj: Event | None = None) -> bool:
        # Feeds resume from stored events; retention (prune_events) is what removes them.
        return False
