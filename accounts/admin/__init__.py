"""The admin site: organisations, users and their roles, and API keys.

One module per reason to change: `tenancy` (what a staff user who is not a superuser may see,
used by every app's admin), `users` (organisations, members, users, groups) and `api_keys`
(creating, showing once, revoking and rotating keys). Importing them registers their models.
"""

from __future__ import annotations

from django.contrib import admin

from accounts.admin import api_keys, users
from accounts.throttling import ThrottledAdminAuthenticationForm

__all__ = ["api_keys", "users"]

admin.site.site_header = "Dealstream administration"
admin.site.site_title = "Dealstream admin"
admin.site.index_title = "Organisations, keys, deals and jobs"
admin.site.login_form = ThrottledAdminAuthenticationForm
