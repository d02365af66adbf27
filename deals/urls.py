"""Routes of the deals API (mounted under /api/v1/)."""

from __future__ import annotations

from django.urls import path, register_converter

from deals import views
from jobs.urls import PrefixedIdConverter  # noqa: F401 - registers the `prefixed_id` converter


class DealIdConverter:
    """Integer ids that fit a signed 64-bit column; anything else is a 404, never a database error."""

    regex = "[0-9]{1,18}"

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value: int) -> str:
        return str(value)


register_converter(DealIdConverter, "deal_id")

# `prefixed_id` (from jobs/urls.py): ids such as `ch_…` and `batch_…` never reach the database malformed.
urlpatterns = [
    path("deals", views.DealListView.as_view(), name="deals"),
    path("deals/<deal_id:deal_id>", views.DealDetailView.as_view(), name="deal"),
    path("deals/<deal_id:deal_id>/statements", views.DealStatementsView.as_view(), name="deal-statements"),
    path(
        "deals/<deal_id:deal_id>/statements/<deal_id:statement_id>",
        views.DealStatementView.as_view(),
        name="deal-statement",
    ),
    path(
        "deals/<deal_id:deal_id>/transactions", views.DealTransactionsView.as_view(), name="deal-transactions"
    ),
    path(
        "deals/<deal_id:deal_id>/transactions/<deal_id:transaction_id>/revenue",
        views.TransactionRevenueView.as_view(),
        name="transaction-revenue",
    ),
    path("deals/<deal_id:deal_id>/decision", views.DealDecisionView.as_view(), name="deal-decision"),
    path("changes/<prefixed_id:change_id>/approve", views.ChangeApproveView.as_view(), name="change-approve"),
    path("changes/<prefixed_id:change_id>/reject", views.ChangeRejectView.as_view(), name="change-reject"),
    path("batches", views.BatchCreateView.as_view(), name="batches"),
    path("batches/<prefixed_id:batch_id>", views.BatchDetailView.as_view(), name="batch"),
]
