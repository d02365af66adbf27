"""URL routes: the REST API and feeds under /api/v1/, operator endpoints, admin and dashboard."""

from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("", include("api.urls")),
    path("api/v1/", include("events.urls")),
    path("api/v1/", include("jobs.urls")),
    path("api/v1/", include("deals.urls")),
    path("api/v1/", include("valuations.urls")),
    path("api/v1/", include("webhooks.urls")),
    path("admin/", admin.site.urls),
    path("", include("dashboard.urls")),
]

handler400 = "api.errors.bad_request"
handler403 = "api.errors.permission_denied"
handler404 = "api.errors.not_found"
handler500 = "api.errors.server_error"
