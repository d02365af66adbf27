"""The SSE feeds: per organisation, deal, batch and job, with lossless `Last-Event-ID` resume.

A stream subscribes to the hub first, then replays stored events after the client's
position, then forwards live events, dropping any live event it already replayed.
Because the hub delivers each organisation's events in id order, this leaves no gap
and no duplicate even while many workers publish concurrently.

Feed kinds other than the organisation's belong to domain apps, which register them here
(`register_feed_kind`, from their `AppConfig.ready()`): events imports no domain model.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any, ClassVar

from django.db.models import OuterRef, Subquery
from django.http import HttpResponse, HttpResponseBase, JsonResponse
from django.utils import timezone

from api.errors import json_error
from core import metrics
from events import store
from events.catalogue import BATCH, DEAL, JOB, ORG
from events.encoding import encode_event
from events.filters import BadTypes, only_types, subscriber_for, types_of, with_closing_events
from events.hub import Delivery, StreamSlot, Subscriber, db_call, get_hub
from events.models import Event, OrgEventSequence
from events.resume import BadLastEventId, ResumePlan, last_event_id_of, plan_resume
from events.streams import StreamRequest

logger = logging.getLogger(__name__)

REPLAY_PAGE = 500


@dataclass(frozen=True)
class FeedKind:
    """A feed kind a domain app owns: how its key becomes a feed, and whether its work has ended.

    `terminal_events(organization_id, key)`: None when the object is not in that
    organisation (404); else the event types after which its feed closes (empty: never).
    `has_ended(key)`: whether finished work's feed must close although its terminal event
    is gone (pruned by retention); only asked of feeds that have terminal events.
    """

    terminal_events: Callable[[int, Any], frozenset[str] | None]
    has_ended: Callable[[Any], bool] | None = None


_kinds: dict[str, FeedKind] = {}


def register_feed_kind(
    name: str,
    terminal_events: Callable[[int, Any], frozenset[str] | None],
    has_ended: Callable[[Any], bool] | None = None,
) -> None:
    """Register a feed kind of the catalogue (`deal`, `batch`, `job`); called from `AppConfig.ready()`."""
    _kinds[name] = FeedKind(terminal_events, has_ended)


@dataclass(frozen=True)
class Feed:
    """Which events one subscriber wants: its organisation's, of one kind and key."""

    organization_id: int
    kind: str  # org | deal | batch | job
    key: object = None
    # Event types after which the stream closes (finite work only).
    terminal: frozenset[str] = frozenset()
    # The `?types=` filter (events/filters.py); None: every event.
    types: frozenset[str] | None = None


def resolve_feed(organization_id: int, kind: str, key: object) -> Feed | None:
    """The feed, or None when its object does not exist in this organisation."""
    if kind == ORG:
        return Feed(organization_id, ORG)
    terminal = _kinds[kind].terminal_events(organization_id, key)
    if terminal is None:
        return None
    return Feed(organization_id, kind, key, terminal)


def _newest_and_pruned(organization_id: int) -> tuple[int, int]:
    """The organisation's newest stored id and the newest id retention removed: one query.

    Within an organisation seq follows id, and (organization, seq) is a unique index: one
    index probe. Every organisation that ever stored an event has its sequence row.
    """
    newest = (
        Event.objects.filter(organization_id=OuterRef("organization_id")).order_by("-seq").values("id")[:1]
    )
    row = (
        OrgEventSequence.objects.filter(organization_id=organization_id)
        .values_list(Subquery(newest), "pruned_through_id")
        .first()
    )
    if row is None:
        return 0, 0
    return int(row[0] or 0), int(row[1] or 0)


def feed_cursor(organization_id: int) -> int:
    """The position a page's feed resumes after; read it before the page's state, never after.

    Within one organisation events commit in id order (events.models.OrgEventSequence), so
    everything up to this id is in what the page renders and everything after is replayed.
    The pruned mark keeps the cursor valid when retention has emptied the store.
    """
    return max(_newest_and_pruned(organization_id))


def _plan(feed: Feed, last_event_id: int | None) -> tuple[ResumePlan, bool]:
    """The resume plan, and whether the feed is already complete for this client (204)."""
    # The organisation's own newest id, never the global one: how a position compares with
    # the global id would tell a tenant how much every other tenant has published.
    if last_event_id is None:
        # A fresh client needs no position: a live feed starts live, a finite one replays all.
        return plan_resume(None, replay_history=bool(feed.terminal), newest_id=0, pruned_through_id=0), False
    newest, pruned = _newest_and_pruned(feed.organization_id)
    # Retention may have emptied the store: a position up to the pruned mark is still known.
    plan = plan_resume(
        last_event_id,
        replay_history=bool(feed.terminal),
        newest_id=max(newest, pruned),
        pruned_through_id=pruned,
    )
    finished = False
    if feed.terminal and plan.after_id is not None and plan.reset_reason is None:
        events = Event.objects.for_feed(feed.organization_id, feed.kind, feed.key)
        finished = (
            not events.filter(id__gt=last_event_id).exists()
            and events.filter(id__lte=last_event_id, type__in=feed.terminal).exists()
        )
    return plan, finished


@dataclass(frozen=True)
class Opening:
    """Everything a stream reads from the store before its first byte, read in one go."""

    plan: ResumePlan
    finished: bool  # nothing left for this client: 204
    earliest_id: int | None = None  # for the `stream.reset`, when there is one
    first_page: list[tuple[int, str, bytes]] | None = None  # the replay's first page


def _opening(feed: Feed, last_event_id: int | None) -> Opening:
    """The resume plan and the replay's first page: one trip to the database per stream open."""
    plan, finished = _plan(feed, last_event_id)
    if finished or plan.after_id is None:
        return Opening(plan, finished)
    earliest = _earliest_id(feed) if plan.reset_reason is not None else None
    return Opening(plan, False, earliest, _replay_page(feed, plan.after_id))


async def read_opening(feed: Feed, last_event_id: int | None) -> Opening:
    """`_opening`, read on the event loop in one statement whenever it can be.

    A fresh client of an open-ended feed reads nothing. A resuming one of an open-ended
    feed (the organisation's, a deal's: what a reconnect storm opens) reads its position
    and first page in one query (events/store.py). Feeds of finite work, positions that
    call for a `stream.reset`, and databases other than PostgreSQL take the ORM path.
    """
    if feed.terminal or not store.available():
        return await db_call(_opening)(feed, last_event_id)
    if last_event_id is None:
        return Opening(plan_resume(None, replay_history=False, newest_id=0, pruned_through_id=0), False)
    rows = await store.loop_store().fetch(*_opening_statement(feed, last_event_id))
    pruned, newest = int(rows[0][0] or 0), int(rows[0][1] or 0)
    plan = plan_resume(
        last_event_id, replay_history=False, newest_id=max(newest, pruned), pruned_through_id=pruned
    )
    if plan.reset_reason is not None:
        return await db_call(_opening)(feed, last_event_id)  # rare: the position is unknown or pruned
    page = [
        (event_id, event_type, encode_event(event_type, data, event_id=event_id))
        for _pruned, _newest, event_id, event_type, data in rows
        if event_id is not None
    ]
    return Opening(plan, False, None, page)


#: The column of each keyed feed (EventQuerySet.for_feed).
_FEED_COLUMNS = {DEAL: "deal_id", BATCH: "batch_id", JOB: "job_id"}


def _opening_statement(feed: Feed, after_id: int) -> tuple[str, list[Any]]:
    """`_newest_and_pruned` and `_replay_page` of an open-ended feed as one SQL statement.

    One row per event of the page (none: one row of NULLs), each carrying the
    organisation's pruned mark and newest id. The feed's condition is
    `EventQuerySet.for_feed`'s, its type filter `only_types`' (tests/events/test_opening.py
    compares both paths).
    """
    events, sequences = Event._meta.db_table, OrgEventSequence._meta.db_table
    # Names from the model, values as parameters: nothing from the request enters the text.
    if feed.kind == ORG:
        condition, params = "in_org_feed", []
    else:
        condition, params = f"{_FEED_COLUMNS[feed.kind]} = %s", [feed.key]
    if feed.types is not None:
        condition += " AND type = ANY(%s)"
        params.append(sorted(feed.types))
    sql = f"""
        SELECT seq.pruned_through_id,
               (SELECT newest.id FROM {events} newest WHERE newest.organization_id = seq.organization_id
                ORDER BY newest.seq DESC LIMIT 1),
               page.id, page.type, page.data
        FROM (SELECT %s::bigint AS organization_id) org
        LEFT JOIN {sequences} seq ON seq.organization_id = org.organization_id
        LEFT JOIN LATERAL (
            SELECT id, type, data FROM {events}
            WHERE organization_id = org.organization_id AND {condition} AND id > %s
            ORDER BY id LIMIT {REPLAY_PAGE}
        ) page ON true
        ORDER BY page.id"""  # noqa: S608
    return sql, [feed.organization_id, *params, after_id]


def _replay_page(feed: Feed, after_id: int) -> list[tuple[int, str, bytes]]:
    events = Event.objects.for_feed(feed.organization_id, feed.kind, feed.key).filter(id__gt=after_id)
    events = only_types(events, feed.types)
    return [
        (event.id, event.type, encode_event(event.type, event.data, event_id=event.id))
        for event in events.order_by("id")[:REPLAY_PAGE]
    ]


def _ended_without_history(feed: Feed) -> bool:
    """True when the job or batch has finished but retention removed its terminal event.

    A finished object's terminal event commits with its final state, so a finished
    object whose feed holds no terminal event can only mean the history was pruned:
    the stream must close rather than wait for an event that will never come.
    """
    has_ended = _kinds[feed.kind].has_ended if feed.kind in _kinds else None
    if has_ended is None or not has_ended(feed.key):
        return False
    events = Event.objects.for_feed(feed.organization_id, feed.kind, feed.key)
    return not events.filter(type__in=feed.terminal).exists()


def _earliest_id(feed: Feed) -> int | None:
    first = Event.objects.for_feed(feed.organization_id, feed.kind, feed.key).order_by("id").first()
    return first.id if first else None


_delivered_by_type: dict[str, Any] = {}


def count_delivery(event_type: str) -> None:
    """Count one event written to a stream.

    Runs once per event per subscriber, the hottest line of a fan-out: the labelled
    child is looked up once per type instead of through `labels()` every time.
    """
    child = _delivered_by_type.get(event_type)
    if child is None:
        child = _delivered_by_type[event_type] = metrics.EVENTS_DELIVERED.labels(event_type)
    child.inc()


async def stream_feed(subscriber: Subscriber, feed: Feed, opening: Opening) -> AsyncIterator[bytes]:
    """The frames of one feed: a reset if needed, the replay, then live events and heartbeats.

    Heartbeats come from the hub's tick (one timer for every stream of the process), as
    the same `: heartbeat` comment the stream edge sends on other streams.
    """
    plan, page, earliest_id = opening.plan, opening.first_page, opening.earliest_id
    del opening  # a stream lives for hours: keep nothing it has sent
    if plan.reset_reason is not None:
        yield encode_event(
            "stream.reset",
            {
                "type": "stream.reset",
                "reason": plan.reset_reason,
                "earliest_id": earliest_id,
                "timestamp": timezone.now().isoformat(),
            },
        )
    last_sent = 0
    if plan.after_id is not None:
        last_sent = plan.after_id
        while True:
            if page is None:
                page = await db_call(_replay_page)(feed, last_sent)
            if not page:
                break
            frames = []
            for event_id, event_type, frame in page:
                frames.append(frame)
                last_sent = event_id
                count_delivery(event_type)
                if event_type in feed.terminal:
                    yield b"".join(frames)
                    return
            yield b"".join(frames)
            if len(page) < REPLAY_PAGE:
                break
            page = None
    page, frames = None, []
    if feed.terminal and await db_call(_ended_without_history)(feed):
        return
    while True:
        items = await subscriber.wait()
        if subscriber.closed_reason is not None:
            return
        frames = []
        finished = False
        for item in items:
            if isinstance(item, Delivery):
                if item.id <= last_sent:
                    continue  # already replayed
                frames.append(item.frame)
                last_sent = item.id
                count_delivery(item.event)
                if item.event in feed.terminal:
                    finished = True
                    break
            elif not frames:
                frames.append(item)  # a heartbeat, only worth sending when idle
        if frames:
            # One write per wake-up, however many events queued meanwhile.
            yield b"".join(frames)
        if finished:
            return


class FeedSource:
    """A feed as the stream edge's source: subscribe, then plan the resume, then replay and go live."""

    __slots__ = ("feed", "kind", "last_event_id", "opening", "subscriber")
    response_headers: ClassVar[Mapping[str, str]] = {}

    def __init__(self, feed: Feed, last_event_id: int | None, stream: StreamRequest) -> None:
        actor = stream.actor
        self.kind = feed.kind
        self.feed = feed
        self.last_event_id = last_event_id
        # Ids only, not the caller's rows: thousands of these live for hours.
        self.subscriber = subscriber_for(
            feed.types,
            feed.organization_id,
            feed.kind,
            feed.key,
            api_key_id=actor.api_key.pk if actor.api_key else None,
            expires_at=actor.api_key.expires_at if actor.api_key else None,
            user_id=actor.user.pk if actor.user is not None else None,
        )
        self.opening: Opening | None = None

    async def start(self, slot: StreamSlot) -> HttpResponseBase | None:
        self.subscriber.slot = slot
        try:
            await get_hub().subscribe(self.subscriber)
            self.opening = await read_opening(self.feed, self.last_event_id)
        except Exception:
            # The channel layer (Redis) or the database is away: say so, and when to retry.
            logger.exception("Could not open a %s stream", self.kind)
            response = json_error(
                503, "stream_unavailable", "Live events are unavailable right now; retry in a few seconds."
            )
            response["Retry-After"] = "5"
            return response
        if self.opening.finished:
            return HttpResponse(status=204)
        return None

    def frames(self) -> AsyncIterator[bytes]:
        opening, self.opening = self.opening, None  # the stream holds it only until it is sent
        assert opening is not None
        return stream_feed(self.subscriber, self.feed, opening)

    async def close(self) -> None:
        get_hub().unsubscribe(self.subscriber)


async def feed_source(stream: StreamRequest, kind: str, key: object = None) -> FeedSource | JsonResponse:
    """The source of a feed stream; a JSON 400 (bad `Last-Event-ID`) or 404 (no such object) otherwise."""
    try:
        last_event_id = last_event_id_of(stream.request)
    except BadLastEventId as exc:
        return json_error(400, "invalid_last_event_id", str(exc))
    try:
        types = types_of(stream.request)
    except BadTypes as exc:
        return json_error(400, "invalid_types", str(exc), {"types": [str(exc)]})
    organization_id = stream.actor.organization.pk
    if kind == ORG:
        feed: Feed | None = Feed(organization_id, ORG)  # nothing to look up
    else:
        feed = await db_call(resolve_feed)(organization_id, kind, key)
    if feed is None:
        return json_error(404, "not_found", f"No such {kind}.")
    feed = replace(feed, types=with_closing_events(types, feed.terminal))
    return FeedSource(feed, last_event_id, stream)
