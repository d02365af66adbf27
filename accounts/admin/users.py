"""Admin for organisations, their members, users and groups.

Privileges: only a superuser grants them. An organisation's admin sees and edits only
their organisation's plain users (never a superuser, never another staff account) and
themselves, without the superuser, staff, group and permission fields; every user
lookup (raw id, popup, autocomplete, the members inlines) goes through the same scope,
so a superuser cannot be attached to an organisation, edited or given a new password
by anyone but a superuser. Groups are for superusers only.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import GroupAdmin as DjangoGroupAdmin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.models import Group
from django.db.models import Count, QuerySet
from django.http import HttpRequest

from accounts.admin.api_keys import ApiKeyInline
from accounts.admin.tenancy import (
    PRIVILEGE_FIELDS,
    OrganizationScopedAdmin,
    admin_organization_id,
    is_superuser,
    manageable_users,
    own_organizations,
    scope_users,
)
from accounts.models import Membership, Organization, Role


class ManagedMembersMixin:
    """Memberships whose user the staff member may manage, and only such users to pick."""

    def get_queryset(self, request: HttpRequest) -> QuerySet[Membership]:
        queryset: QuerySet[Membership] = super().get_queryset(request)  # type: ignore[misc]
        return scope_users(queryset, request, "user__")

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "user":
            # The raw-id box is validated against this queryset, so an id typed by hand
            # (a superuser's, another tenant's) is refused like any other bad choice.
            kwargs["queryset"] = manageable_users(request)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)  # type: ignore[misc]


class MembershipInline(ManagedMembersMixin, admin.TabularInline[Membership, Organization]):
    model = Membership
    extra = 0
    fields = ("user", "role")
    raw_id_fields = ("user",)
    verbose_name = "member"
    verbose_name_plural = "members"


@admin.register(Organization)
class OrganizationAdmin(OrganizationScopedAdmin[Organization]):
    organization_lookup = "pk"
    list_display = (
        "name",
        "subscription_tier",
        "monthly_job_limit",
        "member_count",
        "key_count",
        "created_at",
    )
    list_filter = ("subscription_tier",)
    search_fields = ("name",)
    inlines = (MembershipInline, ApiKeyInline)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Organization]:
        return (
            super()
            .get_queryset(request)
            .annotate(
                members=Count("memberships", distinct=True),
                keys=Count("api_keys", distinct=True),
            )
        )

    @admin.display(description="Members", ordering="members")
    def member_count(self, organization: Organization) -> int:
        return int(getattr(organization, "members", 0))

    @admin.display(description="API keys", ordering="keys")
    def key_count(self, organization: Organization) -> int:
        return int(getattr(organization, "keys", 0))

    def has_add_permission(self, request: HttpRequest) -> bool:
        # An organisation's admin administers one organisation; only superusers create more.
        return is_superuser(request) and super().has_add_permission(request)


@admin.register(Membership)
class MembershipAdmin(ManagedMembersMixin, OrganizationScopedAdmin[Membership]):
    list_display = ("user", "organization", "role")
    list_filter = ("role", "organization")
    search_fields = ("user__username", "user__email", "organization__name")
    raw_id_fields = ("user",)


class MembershipOnUserInline(admin.StackedInline[Membership, Any]):
    """A user's organisation and role, edited on the user's page."""

    model = Membership
    can_delete = True
    fields = ("organization", "role")
    verbose_name = "organisation and role"
    verbose_name_plural = "organisation and role"

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "organization" and not is_superuser(request):
            kwargs["queryset"] = own_organizations(request)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


User = get_user_model()
if admin.site.is_registered(User):
    admin.site.unregister(User)


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    inlines = (MembershipOnUserInline,)
    list_display = ("username", "email", "organisation", "role", "is_staff", "is_active", "last_login")
    list_filter = ("membership__role", "membership__organization", "is_staff", "is_superuser", "is_active")
    list_select_related = ("membership__organization",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        # Also what the change, password, delete, raw-id popup and autocomplete views look
        # users up in: a user outside it "does not exist" for this staff member.
        return scope_users(super().get_queryset(request), request)

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        fieldsets = super().get_fieldsets(request, obj)
        if is_superuser(request):
            return fieldsets
        # The form is built from the fieldsets, so a privilege field posted anyway is ignored.
        return [
            (name, {**options, "fields": [f for f in options["fields"] if f not in PRIVILEGE_FIELDS]})
            for name, options in fieldsets
        ]

    def has_add_permission(self, request: HttpRequest) -> bool:
        # A new user joins the adder's organisation (save_related): an adder needs one.
        allowed = is_superuser(request) or admin_organization_id(request) is not None
        return allowed and super().has_add_permission(request)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._may_manage(request, obj) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._may_manage(request, obj) and super().has_delete_permission(request, obj)

    def _may_manage(self, request: HttpRequest, obj: Any) -> bool:
        return obj is None or manageable_users(request).filter(pk=obj.pk).exists()

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        organization_id = admin_organization_id(request)
        if is_superuser(request) or organization_id is None:
            return
        # A user an organisation's admin creates belongs to that organisation (and so stays
        # within their reach), whether or not the members form was filled in.
        Membership.objects.get_or_create(user=form.instance, defaults={"organization_id": organization_id})

    def get_list_filter(self, request: HttpRequest) -> Any:
        filters: Sequence[Any] = super().get_list_filter(request)
        if is_superuser(request):
            return filters
        return [item for item in filters if item not in {"membership__organization", "is_superuser"}]

    @admin.display(description="Organisation", ordering="membership__organization__name")
    def organisation(self, user: Any) -> str:
        membership = getattr(user, "membership", None)
        return str(membership.organization) if membership else "—"

    @admin.display(description="Role", ordering="membership__role")
    def role(self, user: Any) -> str:
        membership = getattr(user, "membership", None)
        return Role(membership.role).label if membership else "—"


if admin.site.is_registered(Group):
    admin.site.unregister(Group)


@admin.register(Group)
class GroupAdmin(DjangoGroupAdmin):
    """Groups carry permissions: granting them is a superuser's job."""

    def has_module_permission(self, request: HttpRequest) -> bool:
        return is_superuser(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_superuser(request)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return is_superuser(request)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_superuser(request)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_superuser(request)
