"""REST endpoints of valuations: value a product, and list, read and purge stored valuations."""

from __future__ import annotations

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework.generics import ListAPIView, RetrieveAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.auth import get_actor
from api.idempotency import idempotent
from api.parsers import BoundedJSONParser
from core.context import request_id_var
from core.errors import Invalid
from valuations import services
from valuations.models import Valuation
from valuations.serializers import (
    PurgeResultSerializer,
    ValuationClientQuery,
    ValuationSerializer,
    ValueDecisionRequestSerializer,
    ValueDecisionResponseSerializer,
)

_ERROR = OpenApiResponse(description='`{"error": {"code", "message", "fields"}, "request_id"}`')


class ValueDecisionView(APIView):
    """`POST /api/v1/value-decision`: score a product now and answer with the valuation."""

    parser_classes = [BoundedJSONParser]

    @extend_schema(
        operation_id="value_decision",
        summary="Value a product",
        description=(
            "Scores the product described by `overrideProduct`, or read from the page at `url`. "
            "The response's `version` equals the `X-Scorer-Version` header; the stored valuation's "
            "id is in the `X-Valuation-Id` header. Supports `Idempotency-Key`."
        ),
        request=ValueDecisionRequestSerializer,
        responses={
            200: ValueDecisionResponseSerializer,
            400: OpenApiResponse(
                description="Invalid fields (per-field messages), `product_not_found` or `url_not_allowed`."
            ),
            422: OpenApiResponse(description="`page_unavailable`: the page could not be fetched."),
            401: _ERROR,
            403: _ERROR,
            429: _ERROR,
        },
        tags=["valuations"],
    )
    @idempotent
    def post(self, request: Request) -> Response:
        parsed = services.parse_request(request.data)
        organization = get_actor(request).organization
        valuation = services.value_product(organization.pk, parsed, request_id=request_id_var.get() or "")
        return Response(valuation.result, headers={"X-Valuation-Id": valuation.pk})


@extend_schema_view(
    get=extend_schema(
        operation_id="valuations_list",
        summary="List stored valuations",
        description="Newest first, paginated as `{results, next}`; `?client_id=` keeps one client's.",
        parameters=[OpenApiParameter("client_id", str, description="Only this client's valuations.")],
        tags=["valuations"],
    )
)
class ValuationListView(ListAPIView[Valuation]):
    """`GET /api/v1/valuations` (newest first, `?client_id=`) and `DELETE ?client_id=` (purge)."""

    serializer_class = ValuationSerializer

    def get_queryset(self) -> QuerySet[Valuation]:
        query = ValuationClientQuery(data=self.request.query_params, partial=True)
        query.is_valid(raise_exception=True)
        valuations = Valuation.objects.filter(organization=get_actor(self.request).organization)
        if "client_id" in query.validated_data:
            valuations = valuations.filter(client_id=query.validated_data["client_id"])
        return valuations

    @extend_schema(
        operation_id="valuations_purge",
        summary="Purge one client's stored valuations",
        description="Deletes every stored valuation of `client_id` in the caller's organisation; answers `{deleted}`.",
        # Documented as the query serializer checks it: a blank or over-long id is a 400.
        parameters=[ValuationClientQuery],
        request=None,
        responses={200: PurgeResultSerializer, 400: _ERROR},
        tags=["valuations"],
    )
    def delete(self, request: Request) -> Response:
        query = ValuationClientQuery(data=request.query_params)
        if not query.is_valid():
            # A DELETE without a client would be a purge of everything: refuse it explicitly.
            raise Invalid("Say whose valuations to delete with ?client_id=.", fields=query.errors)
        organization = get_actor(request).organization
        deleted = services.purge_client(organization.pk, query.validated_data["client_id"])
        return Response({"deleted": deleted})


@extend_schema_view(
    get=extend_schema(
        operation_id="valuations_retrieve",
        summary="Read a stored valuation",
        description="The request as sent and the response as answered; another organisation's id is a 404.",
        tags=["valuations"],
    )
)
class ValuationDetailView(RetrieveAPIView[Valuation]):
    """`GET /api/v1/valuations/{id}`; another organisation's valuation is a 404."""

    serializer_class = ValuationSerializer
    lookup_url_kwarg = "valuation_id"

    def get_queryset(self) -> QuerySet[Valuation]:
        return Valuation.objects.filter(organization=get_actor(self.request).organization)
