"""HTTP endpoints of the event backbone: the four SSE feeds and the polling log."""

from __future__ import annotations

from typing import Any

from django.http import JsonResponse
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.auth import get_actor
from events.catalogue import BATCH, DEAL, EVENT_FEEDS, JOB, ORG
from events.feeds import FeedSource, feed_source
from events.filters import TYPES_PARAM, BadTypes, only_types, parse_types
from events.models import Event
from events.streams import StreamRequest, stream_view

LOG_PAGE_MAX = 500


@stream_view()
async def org_events(stream: StreamRequest) -> FeedSource | JsonResponse:
    """Every event of the caller's organisation. Never closes."""
    return await feed_source(stream, ORG)


@stream_view()
async def deal_events(stream: StreamRequest, deal_id: int) -> FeedSource | JsonResponse:
    """One deal's processing, status, proposal and decision events. Never closes."""
    return await feed_source(stream, DEAL, deal_id)


@stream_view()
async def batch_events(stream: StreamRequest, batch_id: str) -> FeedSource | JsonResponse:
    """One batch's document events; closes after `batch.completed`."""
    return await feed_source(stream, BATCH, batch_id)


@stream_view()
async def job_events(stream: StreamRequest, job_id: str) -> FeedSource | JsonResponse:
    """One job's status and progress; closes after its terminal event (and `usage`)."""
    return await feed_source(stream, JOB, job_id)


class EventLogQuery(serializers.Serializer[Any]):
    after = serializers.IntegerField(required=False, min_value=0, default=0)
    deal_id = serializers.IntegerField(required=False, min_value=1)
    batch_id = serializers.CharField(required=False, max_length=40)
    job_id = serializers.CharField(required=False, max_length=40)
    type = serializers.ChoiceField(required=False, choices=sorted([*EVENT_FEEDS, "stream.reset"]))
    types = serializers.CharField(
        required=False,
        help_text="Comma-separated event types, `*` as a wildcard: `processing.*,deal.decision`.",
    )
    limit = serializers.IntegerField(required=False, min_value=1, max_value=LOG_PAGE_MAX, default=100)


class EventOut(serializers.ModelSerializer[Event]):
    class Meta:
        model = Event
        fields = ["id", "type", "data", "created_at"]


class EventLogPage(serializers.Serializer[Any]):
    results = EventOut(many=True)
    next = serializers.URLField(allow_null=True)


class EventLogView(APIView):
    """Stored events, oldest first, for clients that poll instead of streaming."""

    pagination_class = None

    @extend_schema(parameters=[EventLogQuery], responses=EventLogPage)
    def get(self, request: Request) -> Response:
        query = EventLogQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        params = query.validated_data
        try:
            types = parse_types(request.query_params.getlist(TYPES_PARAM))
        except BadTypes as exc:
            raise serializers.ValidationError({TYPES_PARAM: [str(exc)]}) from None
        organization = get_actor(request).organization
        events = only_types(Event.objects.filter(organization=organization, id__gt=params["after"]), types)
        for name in ("deal_id", "batch_id", "job_id", "type"):
            if name in params:
                events = events.filter(**{name: params[name]})
        page = list(events.order_by("id")[: params["limit"] + 1])
        has_more = len(page) > params["limit"]
        page = page[: params["limit"]]
        next_url = None
        if has_more:
            query_params = request.query_params.copy()
            query_params["after"] = str(page[-1].id)
            next_url = request.build_absolute_uri(request.path + "?" + query_params.urlencode())
        return Response({"results": EventOut(page, many=True).data, "next": next_url})
