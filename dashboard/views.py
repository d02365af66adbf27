"""Server-rendered dashboard pages; their live parts subscribe to the SSE feeds with the session cookie.

Every change goes through `deals.services`, the functions the REST API calls, so an upload or
a decision made here obeys the same rules and publishes the same events as one made over the
API. Each page renders its state and the id of the newest event it reflects (the "cursor");
the browser opens its feed from that id, so nothing published in between is lost.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count, F, Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from accounts.auth import actor_for_user
from accounts.models import Membership
from api.errors import status_of
from core.context import request_id_var
from core.errors import DomainError, Invalid, NotFound, TooLarge
from dashboard import charts, presentation
from dashboard.forms import (
    AWAITING_DECISION,
    DEAL_SORTS,
    TRANSACTIONS_PER_PAGE,
    ActivityFilterForm,
    DealFilterForm,
    DealForm,
    DecisionForm,
    RevenueForm,
    TransactionFilterForm,
    UploadForm,
)
from dashboard.live import shared_feed
from deals import services, uploads
from deals.models import (
    Batch,
    BatchStatus,
    Deal,
    DealStatus,
    Decision,
    ProposalStatus,
    ProposedChange,
    Statement,
    StatementStatus,
    Transaction,
)
from deals.transaction_list import filter_transactions
from deals.underwriting import FLAG_ORDER
from events.catalogue import BATCH, DEAL
from events.feeds import feed_cursor
from events.models import Event

DEALS_PER_PAGE = 25
EVENT_LOG_LENGTH = 50
ACTIVITY_PAGE = 50

NO_ORGANISATION = "Your account is not part of an organisation yet. Ask an administrator to add you to one."
READ_ONLY = "Your role can look at deals but not change them. Ask an administrator for the underwriter role."


# --- who is asking ------------------------------------------------------------------------


def require_member(request: HttpRequest) -> Membership:
    """The user's membership; 403 for a user who belongs to no organisation."""
    membership: Membership | None = getattr(request.user, "membership", None)
    if membership is None:
        raise PermissionDenied(NO_ORGANISATION)
    return membership


def require_writer(request: HttpRequest) -> Membership:
    """The membership of an underwriter or admin; 403 for a viewer.

    Checked before the object is looked up, so a viewer learns nothing about which ids exist.
    """
    membership = require_member(request)
    if not membership.can_write:
        raise PermissionDenied(READ_ONLY)
    return membership


def actor_label(request: HttpRequest) -> str:
    """How this user is named in events (`created_by`, `decided_by`): the same as over the API."""
    actor = actor_for_user(request.user)
    if actor is None:
        raise PermissionDenied(NO_ORGANISATION)
    return actor.label


def url_prefix(name: str, placeholder: str | int) -> str:
    """The part of a route before its one argument, for the browser to append an id to."""
    url = reverse(name, args=[placeholder])
    return url.removesuffix(str(placeholder))


def wants_json(request: HttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "")


# --- deals ---------------------------------------------------------------------------------


def _ordering(sort: str) -> list[Any]:
    """The deal list's ORDER BY for a `sort` value: unscored deals and missing amounts last."""
    field = DEAL_SORTS[sort or "newest"][1]
    name = field.lstrip("-")
    primary = F(name).desc(nulls_last=True) if field.startswith("-") else F(name).asc(nulls_last=True)
    # Ties (and every created_at order) fall back to the newest first, so paging is stable.
    return [primary, "-created_at", "-id"]


def _deal_list_context(request: HttpRequest, membership: Membership, form: DealForm | None) -> dict[str, Any]:
    organization = membership.organization
    cursor = feed_cursor(organization.pk)
    filters = DealFilterForm(request.GET or None)
    all_deals = Deal.objects.filter(organization=organization)
    deals: QuerySet[Deal] = all_deals.annotate(statement_count=Count("statements"))
    filtered = False
    view = sort = ""
    if filters.is_valid():
        view = filters.cleaned_data["view"] or ""
        sort = filters.cleaned_data["sort"] or ""
        if filters.cleaned_data["status"]:
            deals = deals.filter(status=filters.cleaned_data["status"])
            filtered = True
        term = filters.cleaned_data["search"].strip()
        if term:
            deals = deals.filter(Q(business_name__icontains=term) | Q(external_ref__icontains=term))
            filtered = True
    if view == AWAITING_DECISION:
        # Scored and not decided: the deals an underwriter has to act on.
        deals = deals.filter(status=DealStatus.UNDER_REVIEW)
    page = Paginator(deals.order_by(*_ordering(sort)), DEALS_PER_PAGE).get_page(request.GET.get("page"))
    # The current filters and order, for the pager and the view links to keep.
    keep = request.GET.copy()
    keep.pop("page", None)
    keep_view = keep.copy()
    keep_view.pop("view", None)
    return {
        "page": page,
        "filters": filters,
        "filtered": filtered,
        "view": view,
        "awaiting_view": AWAITING_DECISION,
        "awaiting_count": all_deals.filter(status=DealStatus.UNDER_REVIEW).count(),
        "query": keep.urlencode(),
        "query_without_view": keep_view.urlencode(),
        "flag_labels": presentation.FLAG_LABELS,
        "form": form if form is not None else (DealForm() if membership.can_write else None),
        "can_write": membership.can_write,
        "live": {
            "feed": reverse("events-org"),
            "cursor": cursor,
            "shared": shared_feed(membership),
            # New deals are added to the first, unfiltered page in the default order only;
            # elsewhere they would appear out of place.
            "insertNew": not filtered and not view and sort in ("", "newest") and page.number == 1,
            "dealUrl": url_prefix("deal-detail", 0),
        },
    }


@login_required
@require_GET
def deal_list(request: HttpRequest) -> HttpResponse:
    """The organisation's deals as a work queue: flags, an "awaiting decision" view, sorting."""
    membership = require_member(request)
    return render(request, "dashboard/deal_list.html", _deal_list_context(request, membership, None))


@login_required
@require_GET
def deal_row(request: HttpRequest, deal_id: int) -> HttpResponse:
    """One row of the deal list, fetched by the list when a deal's flags may have changed."""
    membership = require_member(request)
    deal = get_object_or_404(
        Deal.objects.annotate(statement_count=Count("statements")),
        organization=membership.organization,
        pk=deal_id,
    )
    return render(
        request, "dashboard/_deal_row.html", {"deal": deal, "flag_labels": presentation.FLAG_LABELS}
    )


@login_required
@require_POST
def create_deal(request: HttpRequest) -> HttpResponse:
    membership = require_writer(request)
    form = DealForm(request.POST)
    if not form.is_valid():
        context = _deal_list_context(request, membership, form)
        return render(request, "dashboard/deal_list.html", context, status=400)
    deal = services.create_deal(membership.organization, created_by=actor_label(request), **form.cleaned_data)
    messages.success(request, f"Deal “{deal.business_name}” created. Upload its bank statements below.")
    return redirect("deal-detail", deal_id=deal.pk)


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


def _organization_deal(membership: Membership, deal_id: int) -> Deal:
    return get_object_or_404(Deal, organization=membership.organization, pk=deal_id)


def _statement_rows(statements: QuerySet[Statement]) -> list[dict[str, Any]]:
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
    rows = filter_transactions(deal.pk, **filters).only(
        "id",
        "statement_id",
        "date",
        "description",
        "counterparty",
        "amount",
        "balance",
        "category",
        "flags",
        "counted_as_revenue",
        "revenue_override",
        "revenue_note",
        "revenue_changed_by",
    )
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


@login_required
@require_GET
def deal_detail(request: HttpRequest, deal_id: int) -> HttpResponse:
    """One deal: statements with live progress, assessment, proposal, decision and event log."""
    membership = require_member(request)
    cursor = feed_cursor(membership.organization.pk)
    deal = _organization_deal(membership, deal_id)
    events = Event.objects.for_feed(membership.organization.pk, DEAL, deal.pk).order_by("-id")[
        :EVENT_LOG_LENGTH
    ]
    can_upload = membership.can_write and not deal.is_decided
    context = {
        **_review_context(deal, membership),
        **_transactions_context(request, deal, membership),
        "statements": _statement_rows(deal.statements.order_by("pk")),
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


@login_required
@require_GET
def deal_review(request: HttpRequest, deal_id: int) -> HttpResponse:
    """The assessment and decision block alone, fetched by the deal page when events change it."""
    membership = require_member(request)
    deal = _organization_deal(membership, deal_id)
    return render(request, "dashboard/_deal_review.html", _review_context(deal, membership))


@login_required
@require_GET
def deal_transactions(request: HttpRequest, deal_id: int) -> HttpResponse:
    """The transactions block alone (same filters), fetched by the deal page when the deal is
    re-scored or a statement comes or goes."""
    membership = require_member(request)
    deal = _organization_deal(membership, deal_id)
    return render(
        request, "dashboard/_deal_transactions.html", _transactions_context(request, deal, membership)
    )


def _back_to_transactions(deal_id: int, query: str) -> HttpResponse:
    # Only a query string is taken from the form, re-encoded, behind our own path: never a redirect
    # elsewhere.
    clean = QueryDict(query).urlencode()
    return redirect(reverse("deal-detail", args=[deal_id]) + (f"?{clean}" if clean else "") + "#transactions")


@login_required
@require_POST
def correct_revenue(request: HttpRequest, deal_id: int, transaction_id: int) -> HttpResponse:
    """Count a transaction as revenue or not, with a reason (`services.correct_revenue`, as the
    API's `POST /deals/{id}/transactions/{tx}/revenue`): the deal is re-scored for every tab."""
    membership = require_writer(request)
    deal = _organization_deal(membership, deal_id)
    form = RevenueForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose whether the transaction counts as revenue.")
        return _back_to_transactions(deal.pk, request.POST.get("back", ""))
    counted = form.cleaned_data["counted"]
    try:
        services.correct_revenue(
            membership.organization,
            deal.pk,
            transaction_id,
            counted=counted,
            note=form.cleaned_data["note"].strip(),
            changed_by=actor_label(request),
        )
    except NotFound as exc:
        raise Http404(exc.message) from exc
    except DomainError as exc:
        messages.error(request, exc.message)
        return _back_to_transactions(deal.pk, form.cleaned_data["back"])
    deal.refresh_from_db(fields=["health_score"])
    treatment = "counted as revenue" if counted else "no longer counted as revenue"
    score = "not scored" if deal.health_score is None else f"{deal.health_score:.1f}"
    messages.success(
        request, f"Transaction {transaction_id} is {treatment}. The health score is now {score}."
    )
    return _back_to_transactions(deal.pk, form.cleaned_data["back"])


@login_required
@require_POST
def remove_statement(request: HttpRequest, deal_id: int, statement_id: int) -> HttpResponse:
    """Take a failed or wrong statement out of the deal (`services.remove_statement`, as the API's
    `DELETE /deals/{id}/statements/{statement_id}`); every open tab follows `statement.removed`."""
    membership = require_writer(request)
    deal = _organization_deal(membership, deal_id)
    statement = get_object_or_404(Statement, deal=deal, pk=statement_id)
    try:
        services.remove_statement(
            membership.organization, deal.pk, statement.pk, removed_by=actor_label(request)
        )
    except DomainError as exc:
        return _refused(request, deal.pk, exc)
    messages.success(
        request, f"{statement.filename} was removed from the deal; the score no longer counts it."
    )
    return redirect("deal-detail", deal_id=deal.pk)


def _refused(request: HttpRequest, deal_id: int, exc: DomainError) -> HttpResponse:
    """A service said no (409 decided, 402 quota, 413 too large...): say why on the deal page."""
    if isinstance(exc, NotFound):
        raise Http404(exc.message)
    if wants_json(request):
        return JsonResponse({"error": {"code": exc.code, "message": exc.message}}, status=status_of(exc))
    messages.error(request, exc.message)
    return redirect("deal-detail", deal_id=deal_id)


def _documents(files: list[Any]) -> tuple[list[uploads.Document], bool]:
    """The documents of an upload and whether they form a batch.

    One plain file is a statement, exactly as `POST /deals/{id}/statements` takes it; several
    files, or a zip, go through the batch path of `POST /batches` and get a batch page.
    """
    if len(files) == 1 and not str(files[0].name).lower().endswith(".zip"):
        upload = files[0]
        if upload.size > uploads.max_upload_bytes():
            raise TooLarge(
                f"{upload.name} is larger than {uploads.max_upload_bytes() // (1024 * 1024)} MB.",
            )
        return [uploads.Document(uploads.clean_name(upload.name or ""), upload, upload.size)], False
    return uploads.expand_uploads(files), True


@login_required
@require_POST
def upload_statements(request: HttpRequest, deal_id: int) -> HttpResponse:
    """Take one or more statement files (form post, or `fetch` asking for JSON) and queue them."""
    membership = require_writer(request)
    deal = _organization_deal(membership, deal_id)
    form = UploadForm(request.POST, request.FILES)
    if not form.is_valid():
        message = " ".join(str(error) for errors in form.errors.values() for error in errors)
        return _refused(request, deal.pk, Invalid(message or "Choose a file to upload."))
    try:
        documents, as_batch = _documents(form.cleaned_data["statements"])
        statements, batch = services.add_statements(
            membership.organization,
            deal.pk,
            documents,
            created_by=actor_label(request),
            request_id=request_id_var.get() or "",
            as_batch=as_batch,
        )
    except DomainError as exc:
        return _refused(request, deal.pk, exc)
    count = len(statements)
    message = f"{count} statement{'s' if count != 1 else ''} uploaded; processing has started."
    if wants_json(request):
        return JsonResponse(
            {
                "message": message,
                "statements": [{"id": s.pk, "filename": s.filename, "status": s.status} for s in statements],
                "batch": (
                    {
                        "id": batch.pk,
                        "url": reverse("batch-detail", args=[batch.pk]),
                        "label": batch.progress_label,
                    }
                    if batch is not None
                    else None
                ),
            },
            status=202,
        )
    messages.success(request, message)
    return redirect("deal-detail", deal_id=deal.pk)


@login_required
@require_POST
def decide_deal(request: HttpRequest, deal_id: int) -> HttpResponse:
    """A direct decision on a deal under review (`POST /deals/{id}/decision` in the API)."""
    membership = require_writer(request)
    deal = _organization_deal(membership, deal_id)
    form = DecisionForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose Approve or Decline before recording a decision.")
        return redirect("deal-detail", deal_id=deal.pk)
    try:
        services.decide(
            membership.organization,
            deal.pk,
            form.cleaned_data["decision"],
            note=form.cleaned_data["note"],
            decided_by=actor_label(request),
        )
    except DomainError as exc:
        return _refused(request, deal.pk, exc)
    messages.success(
        request, f"Decision recorded: {presentation.DECISION_LABELS[form.cleaned_data['decision']]}."
    )
    return redirect("deal-detail", deal_id=deal.pk)


def _resolve_change(request: HttpRequest, change_id: str, *, approve: bool) -> HttpResponse:
    membership = require_writer(request)
    change = get_object_or_404(ProposedChange, deal__organization=membership.organization, pk=change_id)
    try:
        if approve:
            services.approve_change(membership.organization, change.pk, resolved_by=actor_label(request))
        else:
            services.reject_change(membership.organization, change.pk, resolved_by=actor_label(request))
    except DomainError as exc:
        return _refused(request, change.deal_id, exc)
    if approve:
        decision = presentation.DECISION_LABELS.get(change.proposed.get("decision", ""), "")
        messages.success(request, f"Proposal approved. Decision recorded: {decision}.")
    else:
        messages.success(request, "Proposal rejected. The deal stays under review for your own decision.")
    return redirect("deal-detail", deal_id=change.deal_id)


@login_required
@require_POST
def approve_change(request: HttpRequest, change_id: str) -> HttpResponse:
    return _resolve_change(request, change_id, approve=True)


@login_required
@require_POST
def reject_change(request: HttpRequest, change_id: str) -> HttpResponse:
    return _resolve_change(request, change_id, approve=False)


# --- batches -------------------------------------------------------------------------------


@login_required
@require_GET
def batch_detail(request: HttpRequest, batch_id: str) -> HttpResponse:
    """A batch's progress ("3/5") and each document's outcome, live until the batch completes."""
    membership = require_member(request)
    cursor = feed_cursor(membership.organization.pk)
    batch = get_object_or_404(
        Batch.objects.select_related("deal"), organization=membership.organization, pk=batch_id
    )
    documents = batch.documents.order_by("pk")
    finished = batch.status == BatchStatus.COMPLETED
    return render(
        request,
        "dashboard/batch_detail.html",
        {
            "batch": batch,
            "documents": _statement_rows(documents),
            "finished": finished,
            "live": {
                "feed": reverse("events-batch", args=[batch.pk]),
                "cursor": cursor,
                "shared": shared_feed(membership, BATCH, batch.pk),
                "total": batch.total,
                # A finished batch's feed only replays and closes: nothing to wait for.
                "finished": finished,
            },
        },
    )


# --- activity ------------------------------------------------------------------------------


@login_required
@require_GET
def activity(request: HttpRequest) -> HttpResponse:
    """The organisation's outcomes, newest first: one line per statement processed or failed,
    deal created, proposal and decision; a filter narrows to one event type or to decisions."""
    membership = require_member(request)
    organization = membership.organization
    cursor = feed_cursor(organization.pk)
    filters = ActivityFilterForm(request.GET or None)
    event_type = ""
    before = None
    if filters.is_valid():
        event_type = filters.cleaned_data["type"] or ""
        before = filters.cleaned_data["before"]
    types = presentation.activity_types(event_type)
    events = Event.objects.filter(organization=organization, in_org_feed=True, type__in=types)
    if before:
        events = events.filter(id__lt=before)
    page = list(events.order_by("-id")[: ACTIVITY_PAGE + 1])
    older = page[ACTIVITY_PAGE - 1].id if len(page) > ACTIVITY_PAGE else None
    page = page[:ACTIVITY_PAGE]
    deal_ids = {event.data.get("deal_id") for event in page} - {None}
    deal_names = dict(
        Deal.objects.filter(organization=organization, pk__in=deal_ids).values_list("pk", "business_name")
    )
    return render(
        request,
        "dashboard/activity.html",
        {
            "events": page,
            "deal_names": deal_names,
            "filters": filters,
            "event_type": event_type,
            "decisions_preset": presentation.DECISIONS_PRESET,
            "older": older,
            "paged": before is not None,
            "live": {
                "feed": reverse("events-org"),
                "cursor": cursor,
                "shared": shared_feed(membership),
                "type": event_type,
                "types": list(types),
                "dealUrl": url_prefix("deal-detail", 0),
                "batchUrl": url_prefix("batch-detail", "BATCH"),
            },
        },
    )
