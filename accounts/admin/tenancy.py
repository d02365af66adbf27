"""Tenancy in the admin: superusers see every organisation. Any other staff user (an
organisation's admin) sees only the rows of their own organisation (`OrganizationScopedAdmin`,
used by every admin of the project), and only the users they may manage (`scope_users`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.db import models
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse

from accounts.models import Membership, Organization

_M = TypeVar("_M", bound=models.Model)


def admin_organization_id(request: HttpRequest) -> int | None:
    """The organisation a staff user administers (None: no membership)."""
    membership: Membership | None = getattr(request.user, "membership", None)
    return membership.organization_id if membership is not None else None


def own_organizations(request: HttpRequest) -> QuerySet[Organization]:
    """The organisations a non-superuser may pick: their own, or none."""
    organization_id = admin_organization_id(request)
    if organization_id is None:
        return Organization.objects.none()
    return Organization.objects.filter(pk=organization_id)


def is_superuser(request: HttpRequest) -> bool:
    return bool(getattr(request.user, "is_superuser", False))


def scope_to_organization(queryset: QuerySet[Any], request: HttpRequest, lookup: str) -> QuerySet[Any]:
    """All rows for a superuser; otherwise only those of the admin's own organisation."""
    if is_superuser(request):
        return queryset
    organization_id = admin_organization_id(request)
    if organization_id is None:
        return queryset.none()
    return queryset.filter(**{lookup: organization_id})


# What makes a user more than an organisation's member; only a superuser may set these.
PRIVILEGE_FIELDS = frozenset({"is_superuser", "is_staff", "groups", "user_permissions"})


def scope_users(queryset: QuerySet[Any], request: HttpRequest, lookup: str = "") -> QuerySet[Any]:
    """The users (or rows of users, through `lookup`) that `request`'s staff user may manage.

    A superuser: everyone. Anyone else: the plain users of their own organisation, and
    themselves; never a superuser or another staff account, whose password or membership
    would otherwise be one form away.
    """
    if is_superuser(request):
        return queryset
    members = scope_to_organization(queryset, request, f"{lookup}membership__organization_id")
    return members.filter(
        Q(**{f"{lookup}is_staff": False}) | Q(**{f"{lookup}pk": request.user.pk}),
        **{f"{lookup}is_superuser": False},
    )


def manageable_users(request: HttpRequest) -> QuerySet[Any]:
    return scope_users(get_user_model().objects.all(), request)


class OrganizationScopedAdmin(admin.ModelAdmin[_M]):
    """Limits a non-superuser to their own organisation's rows, choices and filters."""

    # The lookup from this model to its organisation's id.
    organization_lookup = "organization"

    def get_queryset(self, request: HttpRequest) -> QuerySet[_M]:
        return scope_to_organization(super().get_queryset(request), request, self.organization_lookup)

    def get_list_filter(self, request: HttpRequest) -> Any:
        filters: Sequence[Any] = super().get_list_filter(request)
        if is_superuser(request):
            return filters
        # An organisation filter would list every organisation's name.
        return [item for item in filters if "organization" not in str(item)]

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "organization" and not is_superuser(request):
            kwargs["queryset"] = own_organizations(request)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def render_page(
        self, request: HttpRequest, template: str, title: str, **context: Any
    ) -> TemplateResponse:
        """A page of our own (a confirmation, a one-time result) in the admin's frame."""
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": title,
            **context,
        }
        return TemplateResponse(request, template, context)


class ReadOnlyAdminMixin:
    """Rows written by the product itself (events, jobs, statements, batches, proposals, the
    scorer's valuations): look, never add or edit by hand."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
