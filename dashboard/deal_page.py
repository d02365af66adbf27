"""The deal page and the fragments it refetches live: statements with progress, assessment and
decision block, charts, and the filtered transaction table. Only reads; what an underwriter
changes from the page is dashboard.deal_actions.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse

from accounts.models import Membership
from dashboard import charts, presentation
from dashboard.access import member_page
from dashboard.forms import TRANSACTIONS_PER_PAGE, DecisionForm, TransactionFilterForm, UploadForm
from dashboard.live import shared_feed
from deals import uploads
from deals.models import Deal, DealStatus, Decision, ProposalStatus, Statement, StatementStatus, Transaction
from deals.transaction_list import TRANSACTION_COLUMNS, filter_transactions
from deals.underwriting import FLAG_ORDER
from events.catalogue import DEAL
from events.feeds import feed_cursor
from events.models import Event

EVENT_LOG_LENGTH = 50


def _flags(deal: Deal) -> list[tuple[str, str, list[str], str]]:
    """Each flag's code, label, the lines of evidence it rests on and the transaction filter
    (a query string) that lists the transactions behind it."""
    details = {detail.get("code"): detail for detail in deal.flag_details or []}
    return [
        (
            code,
            presentation.FLAG_LABELS.get(code, code),
            presentation.flag_evidence_lines(details.get(code, {})),
            urlencode(presentation.FLAG_FILTERS.get(code, {"flag": code})),
        )
        for code in deal.flags or []
    ]


def _money_context(deal: Deal) -> dict[str, Any]:
    """Charts, monthly scorecard, statement details and the amount against revenue."""
    statements = list(deal.statements.order_by("pk"))
    transactions = list(
        Transaction.objects.filter(deal=deal).only(
            "statement_id",
            "position",
            "date",
            "amount",
            "balance",
            "account",
            "category",
            "flags",
            "counted_as_revenue",
        )
    )
    balances = charts.daily_balances(statements, transactions)
    months = charts.monthly_figures(statements, transactions, balances)
    monthly_revenue = charts.average_monthly_revenue(months, balances)
    accounts: dict[int, set[str]] = {}
    for t in transactions:
        if t.account:
            accounts.setdefault(t.statement_id, set()).add(t.account)
    return {
        "balances": balances,
        "months": months,
        "balance_chart": charts.balance_chart(balances),
        "flow_chart": charts.bar_chart(months, [("deposits", "in"), ("withdrawals", "out")]),
        "revenue_chart": charts.bar_chart(months, [("revenue", "revenue"), ("lender_repayments", "lender")]),
        "monthly_revenue": monthly_revenue,
        "requested_ratio": charts.requested_to_revenue(deal.amount_requested, monthly_revenue),
        "statement_details": [
            presentation.statement_detail(statement, sorted(accounts.get(statement.pk, ())))
            for statement in statements
        ],
        "transaction_total": len(transactions),
    }


def _review_context(deal: Deal, membership: Membership) -> dict[str, Any]:
    """The deal's assessment and decision block; also served alone for live refreshes."""
    proposal = deal.open_proposal
    last_proposal = proposal or deal.proposals.exclude(status=ProposalStatus.SUPERSEDED).first()
    details = deal.score_details or {}
    figures = details.get("figures") or {}
    band, band_label = presentation.score_band(deal.health_score)
    # A deal with nothing readable waits for documents: the page offers no decision on it.
    waits_for_documents = deal.status == DealStatus.UNDER_REVIEW and deal.health_score is None
    can_decide = membership.can_write and deal.status == DealStatus.UNDER_REVIEW and not waits_for_documents
    if waits_for_documents:
        # A proposal made before the last readable statement was removed says nothing now.
        proposal = None
    flags = _flags(deal)
    money = _money_context(deal)
    statement_states = ",".join(f"{row['id']}-{row['status']}" for row in money["statement_details"])
    return {
        **money,
        "suggests_approval": bool(proposal and proposal.proposed.get("decision") == Decision.APPROVED),
        "deal": deal,
        "band": band,
        "band_label": band_label,
        "flags": flags,
        "explanations": deal.explanations or [],
        "warnings": [
            {**warning, "label": presentation.WARNING_LABELS.get(warning["code"], warning["code"])}
            for warning in deal.warnings or []
        ],
        "figures": [
            (label, presentation.format_figure(name, figures.get(name)))
            for name, label in presentation.FIGURE_LABELS.items()
            if name in figures
        ],
        "components": [
            {**component, "label": presentation.COMPONENT_LABELS.get(component["name"], component["name"])}
            for component in details.get("components") or []
        ],
        "reasons": details.get("reasons") or [],
        "proposal": proposal,
        "last_proposal": last_proposal,
        "can_write": membership.can_write,
        # A statement can be taken out of the score until the deal is decided.
        "can_remove": membership.can_write and not deal.is_decided,
        "can_decide": can_decide,
        "waits_for_documents": waits_for_documents,
        "decision_form": DecisionForm() if can_decide else None,
        # Changes whenever anything this block shows changes; the browser swaps the block only
        # then, so a keyboard user's focus is not thrown away by an unrelated event.
        "version": (
            f"{deal.status}:{deal.updated_at.timestamp()}:{proposal.pk if proposal else ''}"
            f":{statement_states}:{money['transaction_total']}"
        ),
    }


def organization_deal(membership: Membership, deal_id: int) -> Deal:
    return get_object_or_404(Deal, organization=membership.organization, pk=deal_id)


def statement_rows(statements: QuerySet[Statement]) -> list[dict[str, Any]]:
    return [
        {
            "statement": statement,
            "percent": presentation.stage_percent(statement.status, statement.stage),
            "stage_label": presentation.STAGE_LABELS.get(statement.stage, ""),
            "status_label": presentation.STATEMENT_STATUS_LABELS.get(statement.status, statement.status),
        }
        for statement in statements
    ]


def _transactions_context(request: HttpRequest, deal: Deal, membership: Membership) -> dict[str, Any]:
    """One page of the deal's transactions under the filters of the query string; the same
    query as `GET /api/v1/deals/{id}/transactions` (deals.transaction_list)."""
    # Only a processed statement has stored transactions to filter on.
    statements = list(
        deal.statements.filter(status=StatementStatus.COMPLETED).order_by("pk").values_list("pk", "filename")
    )
    form = TransactionFilterForm(
        request.GET,
        flags=[(code, presentation.FLAG_LABELS.get(code, code)) for code in FLAG_ORDER],
        statements=statements,
        months=list(Transaction.objects.filter(deal=deal).dates("date", "month")),
    )
    filters = form.filters()
    rows = filter_transactions(deal.pk, **filters).only(*TRANSACTION_COLUMNS)
    page = Paginator(rows, TRANSACTIONS_PER_PAGE).get_page(form.cleaned_data.get("page"))
    query = form.query(page=None)
    return {
        "deal": deal,
        "transactions": page,
        "transaction_filters": form,
        "transactions_filtered": bool(filters),
        "transactions_query": query,
        # Where a correction returns to: this very page of this very filter.
        "transactions_back": form.query(page=page.number if page.number > 1 else None),
        "category_labels": presentation.CATEGORY_LABELS,
        "flag_labels": presentation.FLAG_LABELS,
        "can_correct": membership.can_write and not deal.is_decided,
        "transactions_version": (
            f"{deal.updated_at.timestamp()}:{page.paginator.count}:{query}:{page.number}"
        ),
    }


@member_page
def deal_detail(request: HttpRequest, membership: Membership, deal_id: int) -> HttpResponse:
    """One deal: statements with live progress, assessment, proposal, decision and event log."""
    cursor = feed_cursor(membership.organization.pk)
    deal = organization_deal(membership, deal_id)
    events = Event.objects.for_feed(membership.organization.pk, DEAL, deal.pk).order_by("-id")[
        :EVENT_LOG_LENGTH
    ]
    can_upload = membership.can_write and not deal.is_decided
    context = {
        **_review_context(deal, membership),
        **_transactions_context(request, deal, membership),
        "statements": statement_rows(deal.statements.order_by("pk")),
        "batches": deal.batches.order_by("-created_at")[:10],
        "events": list(events),
        "can_upload": can_upload,
        "upload_form": UploadForm() if can_upload else None,
        "max_upload_mb": uploads.max_upload_bytes() // (1024 * 1024),
        "live": {
            "feed": reverse("events-deal", args=[deal.pk]),
            "cursor": cursor,
            "shared": shared_feed(membership, DEAL, deal.pk),
            "dealId": deal.pk,
            "reviewUrl": reverse("deal-review", args=[deal.pk]),
            "transactionsUrl": reverse("deal-transactions-page", args=[deal.pk]),
        },
    }
    return render(request, "dashboard/deal_detail.html", context)


@member_page
def deal_review(request: HttpRequest, membership: Membership, deal_id: int) -> HttpResponse:
    """The assessment and decision block alone, fetched by the deal page when events change it."""
    deal = organization_deal(membership, deal_id)
    return render(request, "dashboard/_deal_review.html", _review_context(deal, membership))


@member_page
def deal_transactions(request: HttpRequest, membership: Membership, deal_id: int) -> HttpResponse:
    """The transactions block alone (same filters), fetched by the deal page when the deal is
    re-scored or a statement comes or goes."""
    deal = organization_deal(membership, deal_id)
    return render(
        request, "dashboard/_deal_transactions.html", _transactions_context(request, deal, membership)
    )
