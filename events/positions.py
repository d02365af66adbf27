"""Feed positions on reads (spec §8a): a deal, job or batch read says where its feed stands.

`GET` of an object returns `event_position`, the newest stored event id of its feed, read
in the same database snapshot as the object. Events of one organisation become visible
in id order (events/publish.py), so the snapshot holds exactly the effects of the feed's
events up to that id: a client that opens the feed with `Last-Event-ID: <event_position>`
receives every later event and none it has already seen in the object.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from django.db import connection, transaction
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework import serializers
from rest_framework.response import Response

from events.models import Event, OrgEventSequence

POSITION_HEADER = "Last-Event-ID"
T = TypeVar("T")

# The schema's description of the response header, for `extend_schema(parameters=[...])`.
POSITION_HEADER_SCHEMA = OpenApiParameter(
    POSITION_HEADER,
    OpenApiTypes.INT,
    OpenApiParameter.HEADER,
    response=True,
    description="The object's `event_position`: open its feed with this `Last-Event-ID` to miss nothing.",
)


@contextmanager
def snapshot() -> Iterator[None]:
    """One consistent view of the database for the queries inside.

    PostgreSQL's default (READ COMMITTED) gives each statement its own snapshot, so an
    object read after its position could already include a later event; REPEATABLE READ
    takes one snapshot for the whole transaction. It can only be chosen before the
    transaction's first query, so inside an enclosing transaction the caller's own
    isolation stands. SQLite transactions are snapshots already.
    """
    outermost = not connection.in_atomic_block
    with transaction.atomic():
        if outermost and connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        yield


def feed_position(organization_id: int, kind: str, key: object = None) -> int:
    """The id to resume this feed from: its newest stored event.

    A feed with nothing stored after the retention mark answers the mark (0 for an
    organisation that has pruned nothing): a valid position, since nothing of the feed
    lies between it and now, and one a stream accepts without a `stream.reset`.
    """
    newest = (
        Event.objects.for_feed(organization_id, kind, key)
        .order_by("-id")
        .values_list("id", flat=True)
        .first()
    )
    pruned = (
        OrgEventSequence.objects.filter(organization_id=organization_id)
        .values_list("pruned_through_id", flat=True)
        .first()
    )
    return max(newest or 0, pruned or 0)


class EventPositionField(serializers.IntegerField):
    """`event_position` of a read: open the object's feed with it as `Last-Event-ID`."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault(
            "help_text",
            "The newest stored event id of this object's feed, read with the object: open the feed "
            "with it as Last-Event-ID to receive every later event and none already reflected here. "
            "Also sent as the Last-Event-ID response header.",
        )
        super().__init__(read_only=True, **kwargs)


def read_with_position(
    organization_id: int, kind: str, key: object, read: Callable[[], T], serialize: Callable[[T], Any]
) -> Response:
    """Read an object and its feed's position in one snapshot, and answer with both.

    `read` loads the object (raising for a 404); `serialize` turns it into the body, inside
    the snapshot too, since serializers may query related rows. The object gets the
    position as its `event_position` attribute, for an `EventPositionField`.
    """
    with snapshot():
        found = read()
        position = feed_position(organization_id, kind, key)
        found.event_position = position  # type: ignore[attr-defined]
        data = serialize(found)
    response = Response(data)
    response[POSITION_HEADER] = str(position)
    return response
