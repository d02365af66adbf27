"""Admin for organisations, users and their roles, and API keys.

API keys: the full key is shown once, on the page the creation (or rotation) redirects to,
and never stored anywhere lasting: not in the database, a message or a log entry. Between
the POST and that page it waits in the session, which the page empties as it renders (and
which drops it after ISSUED_KEYS_TTL), so a reload shows nothing and mints nothing.
Revoking takes effect on the key's next request; its open streams close at the next hub
tick (within SSE_HEARTBEAT_SECONDS). Rotating issues a replacement with the same name,
scopes and limits and lets the old key run for ROTATION_GRACE so clients can switch over.

Tenancy: superusers see every organisation. Any other staff user (an organisation's admin)
sees only the rows of their own organisation (`OrganizationScopedAdmin`, used by every
admin of the project).

Privileges: only a superuser grants them. An organisation's admin sees and edits only
their organisation's plain users (never a superuser, never another staff account) and
themselves, without the superuser, staff, group and permission fields; every user
lookup (raw id, popup, autocomplete, the members inlines) goes through the same scope,
so a superuser cannot be attached to an organisation, edited or given a new password
by anyone but a superuser. Groups are for superusers only.
"""

from __future__ import annotations

import time
import weakref
from collections.abc import Sequence
from typing import Any, TypeVar

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import GroupAdmin as DjangoGroupAdmin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied
from django.db import models
from django.db.models import Count, Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from accounts.models import ROTATION_GRACE, ApiKey, Membership, Organization, Role
from accounts.throttling import ThrottledAdminAuthenticationForm

_M = TypeVar("_M", bound=models.Model)

# How long a rotated key keeps working next to its replacement.

# The full key of a key created by this request, from save_model to response_add. Keyed by
# the request object, so it lives exactly as long as the request and is never persisted.
_issued_keys: weakref.WeakKeyDictionary[HttpRequest, str] = weakref.WeakKeyDictionary()
# Where issued keys wait for the page the POST redirects to, and for how long at most.
ISSUED_KEYS_SESSION_KEY = "accounts.issued_api_keys"
ISSUED_KEYS_TTL_SECONDS = 300


admin.site.site_header = "Dealstream administration"
admin.site.site_title = "Dealstream admin"
admin.site.index_title = "Organisations, keys, deals and jobs"
admin.site.login_form = ThrottledAdminAuthenticationForm


# --- tenancy -------------------------------------------------------------------------------


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
    organization_id = admin_organization_id(request)
    if organization_id is None:
        return queryset.none()
    return queryset.filter(
        Q(**{f"{lookup}is_staff": False}) | Q(**{f"{lookup}pk": request.user.pk}),
        **{f"{lookup}membership__organization_id": organization_id, f"{lookup}is_superuser": False},
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


class ReadOnlyAdminMixin:
    """Rows written by the product itself (events, jobs): look, never edit by hand."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


# --- organisations and users ---------------------------------------------------------------


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


class ApiKeyInline(admin.TabularInline[ApiKey, Organization]):
    """The organisation's keys at a glance; created and managed on the API key pages."""

    model = ApiKey
    extra = 0
    max_num = 0
    can_delete = False
    show_change_link = True
    fields = ("name", "display_prefix", "scopes", "key_status", "last_used_at")
    readonly_fields = fields
    verbose_name_plural = "API keys"

    @admin.display(description="Key")
    def display_prefix(self, key: ApiKey) -> str:
        return f"{key.prefix}…"

    @admin.display(description="Status")
    def key_status(self, key: ApiKey) -> str:
        return describe_key_status(key)


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


# --- API keys ------------------------------------------------------------------------------


def describe_key_status(key: ApiKey) -> str:
    """Active, expiring, expired or revoked, in words."""
    now = timezone.now()
    if key.revoked_at is not None:
        return f"Revoked {timezone.localtime(key.revoked_at):%Y-%m-%d %H:%M}"
    if key.expires_at is not None:
        if key.expires_at <= now:
            return "Expired"
        return f"Active until {timezone.localtime(key.expires_at):%Y-%m-%d %H:%M}"
    return "Active"


class ApiKeyForm(forms.ModelForm[ApiKey]):
    scopes = forms.MultipleChoiceField(
        choices=[
            ("read", "read: GET requests and event streams"),
            ("write", "write: create, upload, decide"),
        ],
        widget=forms.CheckboxSelectMultiple,
        initial=list(ApiKey.SCOPES),
    )

    class Meta:
        model = ApiKey
        fields = ("organization", "name", "scopes", "rate_limit_per_minute", "expires_at")

    def clean_expires_at(self) -> Any:
        expires_at = self.cleaned_data.get("expires_at")
        if expires_at is not None and expires_at <= timezone.now() and self.instance.pk is None:
            raise forms.ValidationError("A new key must expire in the future (or leave this blank).")
        return expires_at


class ApiKeyAddForm(ApiKeyForm):
    environment = forms.ChoiceField(
        choices=[("live", "Live (dsk_live_…)"), ("test", "Test (dsk_test_…)")],
        initial="live",
        help_text="Only the key's prefix shows which one it is.",
    )


class KeyStatusFilter(admin.SimpleListFilter):
    title = "status"
    parameter_name = "status"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("active", "Active"), ("expired", "Expired"), ("revoked", "Revoked")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        now = timezone.now()
        if self.value() == "active":
            return queryset.filter(revoked_at__isnull=True).exclude(expires_at__lte=now)
        if self.value() == "expired":
            return queryset.filter(revoked_at__isnull=True, expires_at__lte=now)
        if self.value() == "revoked":
            return queryset.filter(revoked_at__isnull=False)
        return queryset


@admin.register(ApiKey)
class ApiKeyAdmin(OrganizationScopedAdmin[ApiKey]):
    form = ApiKeyForm
    list_display = (
        "name",
        "display_prefix",
        "organization",
        "scope_list",
        "key_status",
        "last_used_at",
        "expires_at",
        "created_at",
    )
    list_filter = (KeyStatusFilter, "organization")
    search_fields = ("name", "prefix", "organization__name")
    list_select_related = ("organization",)
    actions = ("revoke_keys", "rotate_keys")
    change_form_template = "admin/accounts/apikey/change_form.html"

    # --- the forms -----------------------------------------------------------------------

    def get_form(
        self, request: HttpRequest, obj: ApiKey | None = None, change: bool = False, **kwargs: Any
    ) -> Any:
        if obj is None:
            kwargs["form"] = ApiKeyAddForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fieldsets(self, request: HttpRequest, obj: ApiKey | None = None) -> Any:
        if obj is None:
            return [
                (None, {"fields": ("organization", "name", "environment", "scopes")}),
                ("Limits", {"fields": ("rate_limit_per_minute", "expires_at")}),
            ]
        return [
            (None, {"fields": ("organization", "name", "display_prefix", "key_status", "scopes")}),
            ("Limits", {"fields": ("rate_limit_per_minute", "expires_at")}),
            (
                "History",
                {"fields": ("created_at", "last_used_at", "revoked_at", "rotated_from_link", "replaced_by")},
            ),
        ]

    def get_readonly_fields(self, request: HttpRequest, obj: ApiKey | None = None) -> Any:
        if obj is None:
            return ()
        # The organisation is part of what the key is; revocation is one-way (use the action).
        return (
            "organization",
            "display_prefix",
            "key_status",
            "created_at",
            "last_used_at",
            "revoked_at",
            "rotated_from_link",
            "replaced_by",
        )

    @admin.display(description="Key", ordering="prefix")
    def display_prefix(self, key: ApiKey) -> str:
        return f"{key.prefix}…"

    @admin.display(description="Rotated from")
    def rotated_from_link(self, key: ApiKey) -> str:
        predecessor = key.rotated_from
        if predecessor is None:
            return "—"
        return self._key_link(predecessor)

    @admin.display(description="Replaced by")
    def replaced_by(self, key: ApiKey) -> str:
        successors = list(key.replacements.order_by("created_at"))
        if not successors:
            return "—"
        return format_html_join(", ", "{}", ((self._key_link(each),) for each in successors))

    def _key_link(self, key: ApiKey) -> str:
        url = reverse("admin:accounts_apikey_change", args=[key.pk])
        return format_html('<a href="{}">{}…</a> ({})', url, key.prefix, describe_key_status(key).lower())

    @admin.display(description="Scopes")
    def scope_list(self, key: ApiKey) -> str:
        return ", ".join(key.scopes) or "—"

    @admin.display(description="Status")
    def key_status(self, key: ApiKey) -> str:
        return describe_key_status(key)

    # --- creating: the secret is shown once ---------------------------------------------

    def save_model(self, request: HttpRequest, obj: ApiKey, form: Any, change: Any) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        key, raw = ApiKey.create_key(
            obj.organization,
            name=obj.name,
            scopes=list(obj.scopes),
            live=form.cleaned_data.get("environment", "live") == "live",
            expires_at=obj.expires_at,
        )
        if obj.rate_limit_per_minute is not None:
            key.rate_limit_per_minute = obj.rate_limit_per_minute
            key.save(update_fields=["rate_limit_per_minute"])
        # The admin goes on with `obj` (log entry, change message): make it the stored row.
        obj.pk = key.pk
        obj.prefix = key.prefix
        obj.key_hash = key.key_hash
        obj.created_at = key.created_at
        obj._state.adding = False
        obj._state.db = key._state.db
        _issued_keys[request] = raw

    def response_add(
        self, request: HttpRequest, obj: ApiKey, post_url_continue: str | None = None
    ) -> HttpResponse:
        raw = _issued_keys.pop(request, None)
        if raw is None:
            return super().response_add(request, obj, post_url_continue)
        return self.issued_keys_response(request, [(obj, raw)], title="API key created")

    def issued_keys_response(
        self, request: HttpRequest, issued: list[tuple[ApiKey, str]], *, title: str
    ) -> HttpResponse:
        """Redirect (303) to the page that shows the new keys once.

        Answering the POST with the keys themselves would make a reload repeat the POST,
        and so mint another key; the redirect leaves a GET behind instead.
        """
        request.session[ISSUED_KEYS_SESSION_KEY] = {
            "title": title,
            "keys": [[key.pk, raw] for key, raw in issued],
            "issued_at": time.time(),
        }
        redirect = HttpResponseRedirect(reverse("admin:accounts_apikey_issued"))
        redirect.status_code = 303  # See Other: the browser fetches the page with a GET
        return redirect

    def issued_view(self, request: HttpRequest) -> HttpResponse:
        """The one page that ever shows full keys: once, never cached."""
        pending = request.session.pop(ISSUED_KEYS_SESSION_KEY, None)
        issued: list[tuple[ApiKey, str]] = []
        title = "API keys"
        if isinstance(pending, dict) and time.time() - pending["issued_at"] < ISSUED_KEYS_TTL_SECONDS:
            title = pending["title"]
            keys = self.get_queryset(request).in_bulk([pk for pk, _ in pending["keys"]])
            issued = [(keys[pk], raw) for pk, raw in pending["keys"] if pk in keys]
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": title,
            "issued": issued,
            "changelist_url": reverse("admin:accounts_apikey_changelist"),
        }
        response = TemplateResponse(request, "admin/accounts/apikey/issued_keys.html", context)
        response["Cache-Control"] = "no-store"
        return response

    # --- revoking and rotating ---------------------------------------------------------

    def _revoke(self, request: HttpRequest, keys: Sequence[ApiKey]) -> int:
        revoked = 0
        for key in keys:
            if key.revoked_at is None:
                key.revoke()
                self.log_change(request, key, "Revoked")
                revoked += 1
        return revoked

    def _confirm(
        self, request: HttpRequest, keys: Sequence[ApiKey], *, operation: str, action: str | None
    ) -> HttpResponse:
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": f"{operation.capitalize()} API keys?",
            "operation": operation,
            "keys": keys,
            "action": action,
            "action_checkbox_name": ACTION_CHECKBOX_NAME,
            "grace_hours": int(ROTATION_GRACE.total_seconds() // 3600),
            "heartbeat": _heartbeat_seconds(),
        }
        return TemplateResponse(request, "admin/accounts/apikey/confirm.html", context)

    @admin.action(description="Revoke the selected API keys", permissions=["change"])
    def revoke_keys(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> HttpResponse | None:
        keys = list(queryset)
        if request.POST.get("confirm") != "yes":
            return self._confirm(request, keys, operation="revoke", action="revoke_keys")
        revoked = self._revoke(request, keys)
        self.message_user(
            request,
            f"Revoked {revoked} key(s). They are refused from their next request; their open "
            f"streams close within {_heartbeat_seconds()} seconds.",
            messages.SUCCESS,
        )
        return None

    @admin.action(
        description="Rotate the selected API keys (new secret, old one expires in 24 h)",
        permissions=["change"],
    )
    def rotate_keys(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> HttpResponse | None:
        issued, skipped = self._rotate(request, list(queryset))
        if skipped:
            self.message_user(request, f"Skipped {skipped} revoked or expired key(s).", messages.WARNING)
        if not issued:
            return None
        return self.issued_keys_response(request, issued, title="API keys rotated")

    def _rotate(self, request: HttpRequest, keys: Sequence[ApiKey]) -> tuple[list[tuple[ApiKey, str]], int]:
        issued: list[tuple[ApiKey, str]] = []
        skipped = 0
        for key in keys:
            try:
                new, raw = key.rotate()
            except ValueError:
                skipped += 1
                continue
            self.log_addition(request, new, f"Rotated from {key.prefix}…")
            self.log_change(request, key, f"Rotated to {new.prefix}…; expires in {ROTATION_GRACE}")
            issued.append((new, raw))
        return issued, skipped

    def get_urls(self) -> list[URLPattern]:
        own = [
            path("issued/", self.admin_site.admin_view(self.issued_view), name="accounts_apikey_issued"),
            path(
                "<path:object_id>/rotate/",
                self.admin_site.admin_view(self.rotate_view),
                name="accounts_apikey_rotate",
            ),
            path(
                "<path:object_id>/revoke/",
                self.admin_site.admin_view(self.revoke_view),
                name="accounts_apikey_revoke",
            ),
        ]
        return own + super().get_urls()

    def _key_for_change(self, request: HttpRequest, object_id: str) -> ApiKey:
        key = self.get_object(request, object_id)  # scoped by get_queryset
        if key is None:
            raise Http404("No such API key.")
        if not self.has_change_permission(request, key):
            raise PermissionDenied
        return key

    def rotate_view(self, request: HttpRequest, object_id: str) -> HttpResponseBase:
        key = self._key_for_change(request, object_id)
        if request.method != "POST":
            return self._confirm(request, [key], operation="rotate", action=None)
        issued, _ = self._rotate(request, [key])
        if not issued:
            self.message_user(request, "A revoked or expired key cannot be rotated.", messages.ERROR)
            return HttpResponse(
                status=303, headers={"Location": reverse("admin:accounts_apikey_change", args=[key.pk])}
            )
        return self.issued_keys_response(request, issued, title="API key rotated")

    def revoke_view(self, request: HttpRequest, object_id: str) -> HttpResponseBase:
        key = self._key_for_change(request, object_id)
        if request.method != "POST":
            return self._confirm(request, [key], operation="revoke", action=None)
        self._revoke(request, [key])
        self.message_user(request, f"Revoked {key}.", messages.SUCCESS)
        return HttpResponse(
            status=303, headers={"Location": reverse("admin:accounts_apikey_change", args=[key.pk])}
        )

    def render_change_form(
        self, request: HttpRequest, context: dict[str, Any], *args: Any, **kwargs: Any
    ) -> HttpResponse:
        obj = kwargs.get("obj")
        context["key_usable"] = bool(obj is not None and obj.is_usable)
        return super().render_change_form(request, context, *args, **kwargs)


def _heartbeat_seconds() -> str:
    return f"{float(settings.SSE_HEARTBEAT_SECONDS):g}"
