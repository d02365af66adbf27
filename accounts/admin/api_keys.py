"""Admin for API keys.

The full key is shown once, on the page the creation (or rotation) redirects to, and never
stored anywhere lasting: not in the database, a message or a log entry. Between the POST and
that page it waits in the session, which the page empties as it renders (and which drops it
after ISSUED_KEYS_TTL), so a reload shows nothing and mints nothing. Revoking takes effect on
the key's next request; its open streams close at the next hub tick (within
SSE_HEARTBEAT_SECONDS). Rotating issues a replacement with the same name, scopes and limits
and lets the old key run for ROTATION_GRACE so clients can switch over.
"""

from __future__ import annotations

import time
import weakref
from collections.abc import Sequence
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase, HttpResponseRedirect
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from accounts.admin.tenancy import OrganizationScopedAdmin
from accounts.models import ROTATION_GRACE, ApiKey, Organization

# The full key of a key created by this request, from save_model to response_add. Keyed by
# the request object, so it lives exactly as long as the request and is never persisted.
_issued_keys: weakref.WeakKeyDictionary[HttpRequest, str] = weakref.WeakKeyDictionary()
# Where issued keys wait for the page the POST redirects to, and for how long at most.
ISSUED_KEYS_SESSION_KEY = "accounts.issued_api_keys"
ISSUED_KEYS_TTL_SECONDS = 300
# A key's past, shown read-only on its page.
HISTORY_FIELDS = ("created_at", "last_used_at", "revoked_at", "rotated_from_link", "replaced_by")


class KeyColumns:
    """The columns a key is listed with, in the key pages and on its organisation's page."""

    @admin.display(description="Key", ordering="prefix")
    def display_prefix(self, key: ApiKey) -> str:
        return f"{key.prefix}…"

    @admin.display(description="Status")
    def key_status(self, key: ApiKey) -> str:
        return describe_key_status(key)


class ApiKeyInline(KeyColumns, admin.TabularInline[ApiKey, Organization]):
    """The organisation's keys at a glance; created and managed on the API key pages."""

    model = ApiKey
    extra = 0
    max_num = 0
    can_delete = False
    show_change_link = True
    fields = ("name", "display_prefix", "scopes", "key_status", "last_used_at")
    readonly_fields = fields
    verbose_name_plural = "API keys"


def describe_key_status(key: ApiKey) -> str:
    """Active, expiring, expired or revoked, in words."""
    if key.revoked_at is not None:
        return f"Revoked {timezone.localtime(key.revoked_at):%Y-%m-%d %H:%M}"
    if key.expires_at is None:
        return "Active"
    if key.expires_at <= timezone.now():
        return "Expired"
    return f"Active until {timezone.localtime(key.expires_at):%Y-%m-%d %H:%M}"


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
class ApiKeyAdmin(KeyColumns, OrganizationScopedAdmin[ApiKey]):
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
        limits = ("Limits", {"fields": ("rate_limit_per_minute", "expires_at")})
        if obj is None:
            return [(None, {"fields": ("organization", "name", "environment", "scopes")}), limits]
        return [
            (None, {"fields": ("organization", "name", "display_prefix", "key_status", "scopes")}),
            limits,
            ("History", {"fields": HISTORY_FIELDS}),
        ]

    def get_readonly_fields(self, request: HttpRequest, obj: ApiKey | None = None) -> Any:
        if obj is None:
            return ()
        # The organisation is part of what the key is; revocation is one-way (use the action).
        return ("organization", "display_prefix", "key_status", *HISTORY_FIELDS)

    @admin.display(description="Rotated from")
    def rotated_from_link(self, key: ApiKey) -> str:
        return "—" if key.rotated_from is None else self._key_link(key.rotated_from)

    @admin.display(description="Replaced by")
    def replaced_by(self, key: ApiKey) -> str:
        successors = key.replacements.order_by("created_at")
        return format_html_join(", ", "{}", ((self._key_link(each),) for each in successors)) or "—"

    def _key_link(self, key: ApiKey) -> str:
        url = reverse("admin:accounts_apikey_change", args=[key.pk])
        return format_html('<a href="{}">{}…</a> ({})', url, key.prefix, describe_key_status(key).lower())

    @admin.display(description="Scopes")
    def scope_list(self, key: ApiKey) -> str:
        return ", ".join(key.scopes) or "—"

    # --- creating: the secret is shown once ---------------------------------------------

    def save_model(self, request: HttpRequest, obj: ApiKey, form: Any, change: Any) -> None:
        if not change:
            live = form.cleaned_data.get("environment", "live") == "live"
            _issued_keys[request] = obj.set_new_secret(live=live)
        super().save_model(request, obj, form, change)

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
        # See Other: the browser fetches the page with a GET.
        return HttpResponseRedirect(reverse("admin:accounts_apikey_issued"), status=303)

    def issued_view(self, request: HttpRequest) -> HttpResponse:
        """The one page that ever shows full keys: once, never cached."""
        pending = request.session.pop(ISSUED_KEYS_SESSION_KEY, None)
        issued: list[tuple[ApiKey, str]] = []
        title = "API keys"
        if isinstance(pending, dict) and time.time() - pending["issued_at"] < ISSUED_KEYS_TTL_SECONDS:
            title = pending["title"]
            keys = self.get_queryset(request).in_bulk([pk for pk, _ in pending["keys"]])
            issued = [(keys[pk], raw) for pk, raw in pending["keys"] if pk in keys]
        changelist_url = reverse("admin:accounts_apikey_changelist")
        template = "admin/accounts/apikey/issued_keys.html"
        response = self.render_page(request, template, title, issued=issued, changelist_url=changelist_url)
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
        return self.render_page(
            request,
            "admin/accounts/apikey/confirm.html",
            f"{operation.capitalize()} API keys?",
            operation=operation,
            keys=keys,
            action=action,
            action_checkbox_name=ACTION_CHECKBOX_NAME,
            grace_hours=int(ROTATION_GRACE.total_seconds() // 3600),
            heartbeat=_heartbeat_seconds(),
        )

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
        own = [path("issued/", self.admin_site.admin_view(self.issued_view), name="accounts_apikey_issued")]
        for operation, view in (("rotate", self.rotate_view), ("revoke", self.revoke_view)):
            route = f"<path:object_id>/{operation}/"
            own.append(path(route, self.admin_site.admin_view(view), name=f"accounts_apikey_{operation}"))
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
            return _see_change_page(key)
        return self.issued_keys_response(request, issued, title="API key rotated")

    def revoke_view(self, request: HttpRequest, object_id: str) -> HttpResponseBase:
        key = self._key_for_change(request, object_id)
        if request.method != "POST":
            return self._confirm(request, [key], operation="revoke", action=None)
        self._revoke(request, [key])
        self.message_user(request, f"Revoked {key}.", messages.SUCCESS)
        return _see_change_page(key)

    def render_change_form(
        self, request: HttpRequest, context: dict[str, Any], *args: Any, **kwargs: Any
    ) -> HttpResponse:
        obj = kwargs.get("obj")
        context["key_usable"] = bool(obj is not None and obj.is_usable)
        return super().render_change_form(request, context, *args, **kwargs)


def _see_change_page(key: ApiKey) -> HttpResponse:
    # See Other: the browser fetches the key's page with a GET.
    return HttpResponseRedirect(reverse("admin:accounts_apikey_change", args=[key.pk]), status=303)


def _heartbeat_seconds() -> str:
    return f"{float(settings.SSE_HEARTBEAT_SECONDS):g}"
