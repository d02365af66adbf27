"""`POST /api/v1/stream-tickets`: a single-use ticket for opening one feed without a key in the URL."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode, urlsplit

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import ApiKey
from core.errors import Forbidden, NotFound
from events.feeds import resolve_feed
from events.filters import TYPES_PARAM, BadTypes, parse_types
from events.resume import MAX_EVENT_ID
from events.tickets import TICKET_PARAM, feed_of_path, issue_ticket


class StreamTicketIn(serializers.Serializer[Any]):
    feed = serializers.CharField(
        max_length=300, help_text="The feed's path, e.g. `/api/v1/events/deals/42` or `/api/v1/events`."
    )
    types = serializers.CharField(
        required=False,
        max_length=1000,
        help_text="A `types` filter (`processing.*,deal.decision`): the stream may be opened with it or a narrower one.",
    )


class StreamTicketOut(serializers.Serializer[Any]):
    ticket = serializers.CharField(help_text="Single use; shown once.")
    expires_at = serializers.DateTimeField(help_text="Redeem it before then (60 s after issue by default).")
    url = serializers.CharField(
        help_text="The feed's path with `ticket` (and `types`): hand it to EventSource."
    )


class StreamTicketView(APIView):
    """Issue a ticket for `feed` to the calling API key (read scope)."""

    required_scope = "read"

    @extend_schema(request=StreamTicketIn, responses={201: StreamTicketOut})
    def post(self, request: Request) -> Response:
        api_key = request.auth
        if not isinstance(api_key, ApiKey):
            raise Forbidden(
                "Stream tickets are issued to API keys (Authorization: Bearer); "
                "the dashboard's own streams use its session.",
                "api_key_required",
            )
        body = StreamTicketIn(data=request.data)
        body.is_valid(raise_exception=True)
        path = _feed_path(body.validated_data["feed"])
        try:
            types = parse_types([body.validated_data["types"]] if "types" in body.validated_data else [])
        except BadTypes as exc:
            raise serializers.ValidationError({TYPES_PARAM: [str(exc)]}) from None
        feed = feed_of_path(path)
        if feed is None:
            raise serializers.ValidationError({"feed": ["This is not the path of an event feed."]})
        kind, key = feed
        if (isinstance(key, int) and key > MAX_EVENT_ID) or resolve_feed(
            api_key.organization_id, kind, key
        ) is None:
            raise NotFound(f"No such {kind}.")
        raw, ticket = issue_ticket(api_key, kind, key, types)
        query = {TICKET_PARAM: raw}
        if "types" in body.validated_data:
            query[TYPES_PARAM] = body.validated_data["types"]
        out = {"ticket": raw, "expires_at": ticket.expires_at, "url": f"{path}?{urlencode(query)}"}
        return Response(StreamTicketOut(out).data, status=status.HTTP_201_CREATED)


def _feed_path(feed: str) -> str:
    """The path of `feed` (a path, or a URL of this API); a query string is refused."""
    parts = urlsplit(feed.strip())
    if parts.query or parts.fragment or not parts.path.startswith("/"):
        raise serializers.ValidationError(
            {"feed": ["Give the feed's path alone, such as /api/v1/events/deals/42 (types go in `types`)."]}
        )
    return parts.path
