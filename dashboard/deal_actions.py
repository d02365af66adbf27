"""What an underwriter changes from the deal page: uploads, decisions, proposals, revenue
corrections and removed statements. Each calls the function of `deals.services` that the REST
API calls, so it obeys the same rules and publishes the same events; a refusal is said on the
deal page (or as JSON to a `fetch`).
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse

from accounts.models import Membership
from api.errors import status_of
from core.context import request_id_var
from core.errors import DomainError, Invalid, NotFound
from dashboard import presentation
from dashboard.access import actor_label, wants_json, writer_action
from dashboard.deal_page import organization_deal
from dashboard.forms import DecisionForm, RevenueForm, UploadForm
from deals import services, uploads
from deals.models import ProposedChange, Statement


def _back_to_transactions(deal_id: int, query: str) -> HttpResponse:
    # Only a query string is taken from the form, re-encoded, behind our own path: never a redirect
    # elsewhere.
    clean = QueryDict(query).urlencode()
    return redirect(reverse("deal-detail", args=[deal_id]) + (f"?{clean}" if clean else "") + "#transactions")


@writer_action
def correct_revenue(
    request: HttpRequest, membership: Membership, deal_id: int, transaction_id: int
) -> HttpResponse:
    """Count a transaction as revenue or not, with a reason (`services.correct_revenue`, as the
    API's `POST /deals/{id}/transactions/{tx}/revenue`): the deal is re-scored for every tab."""
    deal = organization_deal(membership, deal_id)
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


@writer_action
def remove_statement(
    request: HttpRequest, membership: Membership, deal_id: int, statement_id: int
) -> HttpResponse:
    """Take a failed or wrong statement out of the deal (`services.remove_statement`, as the API's
    `DELETE /deals/{id}/statements/{statement_id}`); every open tab follows `statement.removed`."""
    deal = organization_deal(membership, deal_id)
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
        return [uploads.plain_document(files[0])], False
    return uploads.expand_uploads(files), True


@writer_action
def upload_statements(request: HttpRequest, membership: Membership, deal_id: int) -> HttpResponse:
    """Take one or more statement files (form post, or `fetch` asking for JSON) and queue them."""
    deal = organization_deal(membership, deal_id)
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
        batch_page = None
        if batch is not None:
            url = reverse("batch-detail", args=[batch.pk])
            batch_page = {"id": batch.pk, "url": url, "label": batch.progress_label}
        listed = [{"id": s.pk, "filename": s.filename, "status": s.status} for s in statements]
        return JsonResponse({"message": message, "statements": listed, "batch": batch_page}, status=202)
    messages.success(request, message)
    return redirect("deal-detail", deal_id=deal.pk)


@writer_action
def decide_deal(request: HttpRequest, membership: Membership, deal_id: int) -> HttpResponse:
    """A direct decision on a deal under review (`POST /deals/{id}/decision` in the API)."""
    deal = organization_deal(membership, deal_id)
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


@writer_action
def resolve_change(
    request: HttpRequest, membership: Membership, change_id: str, approve: bool
) -> HttpResponse:
    """Approve or reject a proposed decision (`approve` comes from the route)."""
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
