"""Routes of the webhooks API (mounted under /api/v1/)."""

from __future__ import annotations

from django.urls import path

from jobs.urls import PrefixedIdConverter  # noqa: F401 - registers the `prefixed_id` converter
from webhooks import views

urlpatterns = [
    path("webhooks", views.WebhookListView.as_view(), name="webhooks"),
    path("webhooks/<prefixed_id:webhook_id>", views.WebhookDetailView.as_view(), name="webhook"),
    path(
        "webhooks/<prefixed_id:webhook_id>/rotate-secret",
        views.WebhookRotateSecretView.as_view(),
        name="webhook-rotate-secret",
    ),
    path("webhooks/<prefixed_id:webhook_id>/ping", views.WebhookPingView.as_view(), name="webhook-ping"),
    path(
        "webhooks/<prefixed_id:webhook_id>/replay", views.WebhookReplayView.as_view(), name="webhook-replay"
    ),
    path(
        "webhooks/<prefixed_id:webhook_id>/deliveries",
        views.WebhookDeliveriesView.as_view(),
        name="webhook-deliveries",
    ),
]
