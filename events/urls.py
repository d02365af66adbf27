"""Routes of the feeds and the event log (mounted under /api/v1/)."""

from __future__ import annotations

from django.urls import path

from events import ticket_views, views

urlpatterns = [
    path("events", views.org_events, name="events-org"),
    path("events/log", views.EventLogView.as_view(), name="events-log"),
    path("events/deals/<int:deal_id>", views.deal_events, name="events-deal"),
    path("events/batches/<str:batch_id>", views.batch_events, name="events-batch"),
    path("jobs/<str:job_id>/stream", views.job_events, name="events-job"),
    path("stream-tickets", ticket_views.StreamTicketView.as_view(), name="stream-tickets"),
]
