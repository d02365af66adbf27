"""Deals API: deals, statement uploads, batches, decisions and proposals. Thin: validate, call
one function of deals.services, answer with an output serializer. Invalid input raises DRF's
ValidationError: its handler turns nested serializer errors into the envelope's flat `fields`."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from django.core.files.uploadedfile import UploadedFile
from django.db.models import Q, QuerySet
from drf_spectacular.utils import extend_schema, extend_schema_view, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.generics import ListAPIView
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.auth import get_actor
from api.body_limit import MB, body_limit
from api.idempotency import idempotent
from core.context import request_id_var
from core.errors import NotFound, TooLarge
from deals import services, uploads
from deals.models import Batch, Deal, ProposedChange, Transaction
from deals.serializers import (
    BatchIn,
    BatchReadOut,
    DealCreateIn,
    DealDetailOut,
    DealListQuery,
    DealOut,
    DealReadOut,
    DecisionIn,
    ProposalOut,
    RevenueCorrectionIn,
    RevenueCorrectionOut,
    StatementAcceptedOut,
    TransactionListQuery,
    TransactionOut,
)
from deals.transaction_list import filter_transactions
from events.catalogue import BATCH, DEAL
from events.positions import POSITION_HEADER_SCHEMA, read_with_position


def limit_upload(view_method: Callable[..., Response]) -> Callable[..., Response]:
    """Refuse a request whose declared Content-Length exceeds the route's cap (413, the cap of
    api.body_limit) before its body is parsed.

    Applied outside `@idempotent`, which reads the body to fingerprint it.
    """

    @functools.wraps(view_method)
    def wrapper(view: Any, request: Request, *args: Any, **kwargs: Any) -> Response:
        limit, _ = body_limit(request.path)
        try:
            declared = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            declared = 0
        if declared > limit:
            raise TooLarge(f"The upload is larger than {limit // MB} MB.")
        return view_method(view, request, *args, **kwargs)

    return wrapper


def _actor_context(request: Request) -> tuple[Any, str, str]:
    actor = get_actor(request)
    return actor.organization, actor.label, request_id_var.get() or ""


_Owner = TypeVar("_Owner", Deal, Batch)


def _with_statements(model: type[_Owner], related: str, organization: Any, pk: Any) -> _Owner:
    """One row of the organisation with its statements in upload order (the statements' default
    ordering); 404 when it has none such."""
    row = model.objects.filter(organization=organization, pk=pk).prefetch_related(related).first()
    if row is None:
        raise NotFound(f"No such {model._meta.verbose_name}.")
    return row


def _deal_detail(organization: Any, deal_id: int) -> Deal:
    return _with_statements(Deal, "statements", organization, deal_id)


@extend_schema_view(get=extend_schema(parameters=[DealListQuery]))
class DealListView(ListAPIView[Deal]):
    """`GET /deals` (newest first; `?status=`, `?search=` on name and external ref); `POST /deals`."""

    serializer_class = DealOut

    def get_queryset(self) -> QuerySet[Deal]:
        query = DealListQuery(data=self.request.query_params)
        query.is_valid(raise_exception=True)
        params = query.validated_data
        deals = Deal.objects.filter(organization=get_actor(self.request).organization)
        if params.get("status"):
            deals = deals.filter(status=params["status"])
        if params.get("search"):
            term = params["search"].strip()
            deals = deals.filter(Q(business_name__icontains=term) | Q(external_ref__icontains=term))
        return deals.order_by("-created_at", "-id")

    @extend_schema(request=DealCreateIn, responses={201: DealDetailOut})
    @idempotent
    def post(self, request: Request) -> Response:
        body = DealCreateIn(data=request.data)
        body.is_valid(raise_exception=True)
        organization, label, _ = _actor_context(request)
        deal = services.create_deal(organization, created_by=label, **body.validated_data)
        return Response(
            DealDetailOut(_deal_detail(organization, deal.pk)).data, status=status.HTTP_201_CREATED
        )


class DealDetailView(APIView):
    @extend_schema(responses=DealReadOut, parameters=[POSITION_HEADER_SCHEMA])
    def get(self, request: Request, deal_id: int) -> Response:
        organization = get_actor(request).organization
        return read_with_position(
            organization.pk,
            DEAL,
            deal_id,
            lambda: _deal_detail(organization, deal_id),
            lambda deal: DealReadOut(deal).data,
        )


class DealStatementsView(APIView):
    """`POST /deals/{id}/statements` (multipart `file`) → 202 with the statement and its job."""

    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(
        request={
            "multipart/form-data": inline_serializer("StatementUpload", {"file": serializers.FileField()})
        },
        responses={202: StatementAcceptedOut},
    )
    @limit_upload
    @idempotent
    def post(self, request: Request, deal_id: int) -> Response:
        upload = request.FILES.get("file")
        if not isinstance(upload, UploadedFile):
            raise ValidationError({"file": ["Attach the statement as the multipart field 'file'."]})
        document = uploads.plain_document(upload)
        if document.size == 0:
            raise ValidationError({"file": ["The file is empty."]})
        organization, label, request_id = _actor_context(request)
        statements, _ = services.add_statements(
            organization, deal_id, [document], created_by=label, request_id=request_id
        )
        statement = statements[0]
        body = {"statement_id": statement.pk, "job_id": statement.job_id, "status": "queued"}
        return Response(StatementAcceptedOut(body).data, status=status.HTTP_202_ACCEPTED)


class DealDecisionView(APIView):
    """`POST /deals/{id}/decision` `{"decision", "note"?}`: decide a deal under review (409 otherwise)."""

    @extend_schema(request=DecisionIn, responses=DealDetailOut)
    def post(self, request: Request, deal_id: int) -> Response:
        body = DecisionIn(data=request.data)
        body.is_valid(raise_exception=True)
        organization, label, _ = _actor_context(request)
        services.decide(organization, deal_id, decided_by=label, **body.validated_data)
        return Response(DealDetailOut(_deal_detail(organization, deal_id)).data)


class _ChangeResolveView(APIView):
    """Resolve an open proposal with `resolve` (409 when it is not open)."""

    resolve: staticmethod[..., ProposedChange]

    @extend_schema(request=None, responses=ProposalOut)
    def post(self, request: Request, change_id: str) -> Response:
        organization, label, _ = _actor_context(request)
        return Response(ProposalOut(self.resolve(organization, change_id, resolved_by=label)).data)


class ChangeApproveView(_ChangeResolveView):
    """`POST /changes/{change_id}/approve`: apply an open proposal's decision (409 when not open)."""

    resolve = staticmethod(services.approve_change)


class ChangeRejectView(_ChangeResolveView):
    """`POST /changes/{change_id}/reject`: discard an open proposal (409 when not open)."""

    resolve = staticmethod(services.reject_change)


class BatchCreateView(APIView):
    """`POST /batches` (multipart `deal_id`, `files`; a `.zip` counts as its members) → 202."""

    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(
        request={
            "multipart/form-data": inline_serializer(
                "BatchUpload",
                {
                    "deal_id": serializers.IntegerField(),
                    "files": serializers.ListField(child=serializers.FileField()),
                },
            )
        },
        responses={
            202: inline_serializer(
                "BatchAccepted", {"batch_id": serializers.CharField(), "total": serializers.IntegerField()}
            )
        },
    )
    @limit_upload
    @idempotent
    def post(self, request: Request) -> Response:
        body = BatchIn(data={"deal_id": request.data.get("deal_id")})
        body.is_valid(raise_exception=True)
        files = [item for item in request.FILES.getlist("files") if isinstance(item, UploadedFile)]
        if not files:
            raise ValidationError({"files": ["Attach one or more files as the multipart field 'files'."]})
        uploads.check_count(files)
        organization, label, request_id = _actor_context(request)
        deal_id = body.validated_data["deal_id"]
        # 404 for an unknown deal before any zip is inflated.
        if not Deal.objects.filter(organization=organization, pk=deal_id).exists():
            raise NotFound("No such deal.")
        documents = uploads.expand_uploads(files)
        _, batch = services.add_statements(
            organization, deal_id, documents, created_by=label, request_id=request_id, as_batch=True
        )
        assert batch is not None
        return Response({"batch_id": batch.pk, "total": batch.total}, status=status.HTTP_202_ACCEPTED)


class BatchDetailView(APIView):
    @extend_schema(responses=BatchReadOut, parameters=[POSITION_HEADER_SCHEMA])
    def get(self, request: Request, batch_id: str) -> Response:
        organization = get_actor(request).organization
        return read_with_position(
            organization.pk,
            BATCH,
            batch_id,
            lambda: _with_statements(Batch, "documents", organization, batch_id),
            lambda batch: BatchReadOut(batch).data,
        )


# --- transactions, revenue corrections, removed statements ---------------------------------


@extend_schema_view(get=extend_schema(parameters=[TransactionListQuery]))
class DealTransactionsView(ListAPIView[Transaction]):
    """`GET /deals/{id}/transactions`: the stored transactions of the deal's statements, in date
    order; filters `statement_id`, `category`, `flag`, `date_from`, `date_to` (inclusive)."""

    serializer_class = TransactionOut

    def get_queryset(self) -> QuerySet[Transaction]:
        organization = get_actor(self.request).organization
        deal_id = self.kwargs["deal_id"]
        if not Deal.objects.filter(organization=organization, pk=deal_id).exists():
            raise NotFound("No such deal.")
        query = TransactionListQuery(data=self.request.query_params)
        query.is_valid(raise_exception=True)
        return filter_transactions(deal_id, **query.validated_data)


class TransactionRevenueView(APIView):
    """`POST /deals/{id}/transactions/{tx_id}/revenue` `{"counted", "note"?}`: an underwriter's
    revenue treatment of one transaction; the deal is re-scored (`deal.rescored`)."""

    # JSON only: `counted` must be a JSON boolean, which a form field cannot carry.
    @extend_schema(request={"application/json": RevenueCorrectionIn}, responses=RevenueCorrectionOut)
    def post(self, request: Request, deal_id: int, transaction_id: int) -> Response:
        body = RevenueCorrectionIn(data=request.data)
        body.is_valid(raise_exception=True)
        organization, label, _ = _actor_context(request)
        row = services.correct_revenue(
            organization, deal_id, transaction_id, changed_by=label, **body.validated_data
        )
        out = {"transaction": row, "deal": _deal_detail(organization, deal_id)}
        return Response(RevenueCorrectionOut(out).data)


class DealStatementView(APIView):
    """`DELETE /deals/{id}/statements/{statement_id}`: take a statement out of the deal and its
    score (`statement.removed`, `deal.rescored`); 409 on a decided deal."""

    @extend_schema(request=None, responses={200: DealDetailOut})
    def delete(self, request: Request, deal_id: int, statement_id: int) -> Response:
        organization, label, _ = _actor_context(request)
        services.remove_statement(organization, deal_id, statement_id, removed_by=label)
        return Response(DealDetailOut(_deal_detail(organization, deal_id)).data)
