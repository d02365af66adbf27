"""Routes of the jobs API (mounted under /api/v1/); the job stream lives in events/urls.py."""

from __future__ import annotations

from django.urls import path, register_converter
from django.urls.converters import StringConverter

from jobs import views


class PrefixedIdConverter(StringConverter):
    """`job_…`, `batch_…`, `ch_…` ids: anything else (a NUL byte, 300 characters) is a 404
    from the router instead of reaching the database."""

    regex = "[A-Za-z0-9_]{1,40}"


register_converter(PrefixedIdConverter, "prefixed_id")

urlpatterns = [
    path("jobs", views.JobListView.as_view(), name="jobs"),
    path("jobs/<prefixed_id:job_id>", views.JobDetailView.as_view(), name="job"),
    path("jobs/<prefixed_id:job_id>/cancel", views.JobCancelView.as_view(), name="job-cancel"),
    path("usage", views.UsageView.as_view(), name="usage"),
]
