"""The underwriter dashboard's pages (mounted at the site root, after the API)."""

from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.urls import path

from accounts.throttling import ThrottledAuthenticationForm
from dashboard import views

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
    path("deals/<int:deal_id>", views.deal_detail, name="deal-detail"),
    path("deals/<int:deal_id>/review", views.deal_review, name="deal-review"),
    path("deals/<int:deal_id>/row", views.deal_row, name="deal-row"),
    path("deals/<int:deal_id>/transactions", views.deal_transactions, name="deal-transactions-page"),
    path(
        "deals/<int:deal_id>/transactions/<int:transaction_id>/revenue",
        views.correct_revenue,
        name="transaction-revenue-page",
    ),
    path(
        "deals/<int:deal_id>/statements/<int:statement_id>/remove",
        views.remove_statement,
        name="statement-remove-page",
    ),
    path("deals/<int:deal_id>/statements", views.upload_statements, name="deal-upload"),
    path("deals/<int:deal_id>/decision", views.decide_deal, name="deal-decide"),
    path("changes/<str:change_id>/approve", views.approve_change, name="change-approve-page"),
    path("changes/<str:change_id>/reject", views.reject_change, name="change-reject-page"),
    path("batches/<str:batch_id>", views.batch_detail, name="batch-detail"),
    path("activity", views.activity, name="activity"),
]
