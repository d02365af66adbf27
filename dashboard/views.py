"""Server-rendered dashboard pages; their live parts subscribe to the SSE feeds with the session cookie.

This module holds the organisation's pages (deal list, batch, activity); the deal page is
dashboard.deal_page and what is changed from it dashboard.deal_actions. Every change goes
through `deals.services`, the functions the REST API calls, so a deal created here obeys the
same rules and publishes the same events as one made over the API. Each page renders its state
and the id of the newest event it reflects (the "cursor"); the browser opens its feed from that
id, so nothing published in between is lost.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Count, F, Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse

from accounts.models import Membership
from dashboard import presentation
from dashboard.access import actor_label, member_page, url_prefix, writer_action
from dashboard.deal_page import statement_rows
from dashboard.forms import AWAITING_DECISION, DEAL_SORTS, ActivityFilterForm, DealFilterForm, DealForm
from dashboard.live import shared_feed
from deals import services
from deals.models import Batch, BatchStatus, Deal, DealStatus
from events.catalogue import BATCH
from events.feeds import feed_cursor
from events.models import Event

DEALS_PER_PAGE = 25
ACTIVITY_PAGE = 50


# --- the deal list ---------------------------------------------------------------------------


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


@member_page
def deal_list(request: HttpRequest, membership: Membership) -> HttpResponse:
    """The organisation's deals as a work queue: flags, an "awaiting decision" view, sorting."""
    return render(request, "dashboard/deal_list.html", _deal_list_context(request, membership, None))


@member_page
def deal_row(request: HttpRequest, membership: Membership, deal_id: int) -> HttpResponse:
    """One row of the deal list, fetched by the list when a deal's flags may have changed."""
    deal = get_object_or_404(
        Deal.objects.annotate(statement_count=Count("statements")),
        organization=membership.organization,
        pk=deal_id,
    )
    return render(
        request, "dashboard/_deal_row.html", {"deal": deal, "flag_labels": presentation.FLAG_LABELS}
    )


@writer_action
def create_deal(request: HttpRequest, membership: Membership) -> HttpResponse:
    form = DealForm(request.POST)
    if not form.is_valid():
        context = _deal_list_context(request, membership, form)
        return render(request, "dashboard/deal_list.html", context, status=400)
    deal = services.create_deal(membership.organization, created_by=actor_label(request), **form.cleaned_data)
    messages.success(request, f"Deal “{deal.business_name}” created. Upload its bank statements below.")
    return redirect("deal-detail", deal_id=deal.pk)


# --- batches -------------------------------------------------------------------------------


@member_page
def batch_detail(request: HttpRequest, membership: Membership, batch_id: str) -> HttpResponse:
    """A batch's progress ("3/5") and each document's outcome, live until the batch completes."""
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
            "documents": statement_rows(documents),
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


@member_page
def activity(request: HttpRequest, membership: Membership) -> HttpResponse:
    """The organisation's outcomes, newest first: one line per statement processed or failed,
    deal created, proposal and decision; a filter narrows to one event type or to decisions."""
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
