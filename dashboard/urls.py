"""The underwriter dashboard's pages (mounted at the site root, after the API)."""

from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.urls import path

from accounts.throttling import ThrottledAuthenticationForm
from dashboard import deal_actions, deal_page, views

urlpatterns = [
    path(
        "login",
        auth_views.LoginView.as_view(
            template_name="dashboard/login.html",
            authentication_form=ThrottledAuthenticationForm,
            redirect_authenticated_user=True,
        ),
        name="login",
    ),
    path("logout", auth_views.LogoutView.as_view(), name="logout"),
    path("", views.deal_list, name="deal-list"),
    path("deals/new", views.create_deal, name="deal-create"),
    path("deals/<int:deal_id>", deal_page.deal_detail, name="deal-detail"),
    path("deals/<int:deal_id>/review", deal_page.deal_review, name="deal-review"),
    path("deals/<int:deal_id>/row", views.deal_row, name="deal-row"),
    path("deals/<int:deal_id>/transactions", deal_page.deal_transactions, name="deal-transactions-page"),
    path(
        "deals/<int:deal_id>/transactions/<int:transaction_id>/revenue",
        deal_actions.correct_revenue,
        name="transaction-revenue-page",
    ),
    path(
        "deals/<int:deal_id>/statements/<int:statement_id>/remove",
        deal_actions.remove_statement,
        name="statement-remove-page",
    ),
    path("deals/<int:deal_id>/statements", deal_actions.upload_statements, name="deal-upload"),
    path("deals/<int:deal_id>/decision", deal_actions.decide_deal, name="deal-decide"),
    *(
        path(f"changes/<str:change_id>/{verb}", deal_actions.resolve_change, {"approve": approve}, name=name)
        for verb, approve, name in (
            ("approve", True, "change-approve-page"),
            ("reject", False, "change-reject-page"),
        )
    ),
    path("batches/<str:batch_id>", views.batch_detail, name="batch-detail"),
    path("activity", views.activity, name="activity"),
]
