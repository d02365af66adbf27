"""Stored valuations in the Django admin: read-only, with a purge of every valuation of a client.

The purge is the admin's way to honour a client's erasure request, the same operation as
`DELETE /api/v1/valuations?client_id=X`; it asks for confirmation because it removes more
rows than the ones selected.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.db.models import Count, QuerySet
from django.http import HttpRequest, HttpResponse

from accounts.admin.tenancy import OrganizationScopedAdmin, ReadOnlyAdminMixin
from valuations import services
from valuations.models import Valuation


@admin.register(Valuation)
class ValuationAdmin(ReadOnlyAdminMixin, OrganizationScopedAdmin[Valuation]):
    list_display = (
        "id",
        "organization",
        "client_id",
        "client_surface",
        "product_id",
        "source",
        "version",
        "created_at",
    )
    list_filter = ("source", "version", "organization")
    search_fields = ("=id", "=client_id", "product_id", "url", "=request_id")
    list_select_related = ("organization",)
    date_hierarchy = "created_at"
    show_full_result_count = False
    readonly_fields = [field.name for field in Valuation._meta.fields]
    actions = ("purge_clients",)

    @admin.action(description="Purge every valuation of the selected rows' clients", permissions=["delete"])
    def purge_clients(self, request: HttpRequest, queryset: QuerySet[Valuation]) -> HttpResponse | None:
        clients = sorted(set(queryset.values_list("organization_id", "client_id")))
        if request.POST.get("confirm") != "yes":
            counts = (
                Valuation.objects.filter(organization_id__in={org for org, _ in clients})
                .values("organization__name", "organization_id", "client_id")
                .annotate(total=Count("id"))
            )
            wanted = set(clients)
            summary = [row for row in counts if (row["organization_id"], row["client_id"]) in wanted]
            return self.render_page(
                request,
                "admin/valuations/valuation/purge_confirmation.html",
                "Purge these clients' valuations?",
                summary=summary,
                selected=queryset.values_list("pk", flat=True),
                action_checkbox_name=ACTION_CHECKBOX_NAME,
            )
        deleted = sum(services.purge_client(org_id, client_id) for org_id, client_id in clients)
        self.message_user(
            request, f"Deleted {deleted} valuation(s) of {len(clients)} client(s).", level=messages.SUCCESS
        )
        return None
