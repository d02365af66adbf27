"""Routes of valuations (mounted under /api/v1/); the two stream views are marked `@stream_view` in streams.py."""

from __future__ import annotations

from django.urls import path

from valuations import streams, views

urlpatterns = [
    path("value-decision", views.ValueDecisionView.as_view(), name="value-decision"),
    path("value-decision/stream", streams.value_decision_stream_post, name="value-decision-stream"),
    path("value-decision/stream-get", streams.value_decision_stream_get, name="value-decision-stream-get"),
    path("valuations", views.ValuationListView.as_view(), name="valuations"),
    path("valuations/<str:valuation_id>", views.ValuationDetailView.as_view(), name="valuation-detail"),
]
