"""The SSE feeds: per organisation, deal, batch and job, with lossless `Last-Event-ID` resume.

A stream subscribes to the hub first, then replays stored events after the client's
position, then forwards live events, dropping any live event it already replayed.
Because the hub delivers each organisation's events in id order, this leaves no gap
and no duplicate even while many workers publish concurrently.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from typing import Any

from django.apps import apps
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.utils import timezone

from accounts.auth import Actor
from api.errors import json_error
from core import metrics
from events.catalogue import BATCH, BATCH_TERMINAL_EVENTS, DEAL, JOB, JOB_TERMINAL_EVENTS, ORG
from events.encoding import encode_event
from events.filters import BadTypes, only_types, subscriber_for, types_of, with_closing_events
from events.hub import Delivery, Hub, Subscriber, db_call, get_hub
from events.limits import too_many_streams_message
from events.models import Event, OrgEventSequence
from events.resume import BadLastEventId, ResumePlan, last_event_id_of, plan_resume
from events.sse import authenticate_stream, sse_response

logger = logging.getLogger(__name__)

REPLAY_PAGE = 500
JOB_FINISHED_STATUSES = ("completed", "failed", "canceled")


@dataclass(frozen=True)
class Feed:
    organization_id: int
    kind: str  # org | deal | batch | job
    key: object = None
    # Event types after which the stream closes (finite work only).
    terminal: frozenset[str] = frozenset()
    # The `?types=` filter (events/filters.py); None: every event.
    types: frozenset[str] | None = None

    @property
    def replays_history(self) -> bool:
        return bool(self.terminal)


def resolve_feed(organization_id: int, kind: str, key: object) -> Feed | None:
    """The feed, or None when its object does not exist in this organisation."""
    if kind == ORG:
        return Feed(organization_id, ORG)
    if kind == DEAL:
        deal_model = apps.get_model("deals", "Deal")
        if not deal_model.objects.filter(organization_id=organization_id, pk=key).exists():
            return None
        return Feed(organization_id, DEAL, key)
    if kind == BATCH:
        batch_model = apps.get_model("deals", "Batch")
        if not batch_model.objects.filter(organization_id=organization_id, pk=key).exists():
            return None
        return Feed(organization_id, BATCH, key, BATCH_TERMINAL_EVENTS)
    if kind == JOB:
        job_model = apps.get_model("jobs", "Job")
        job = job_model.objects.filter(organization_id=organization_id, pk=key).only("billable").first()
        if job is None:
            return None
        # A billable job's feed ends with the `usage` event that follows its terminal event.
        return Feed(organization_id, JOB, key, frozenset({"usage"}) if job.billable else JOB_TERMINAL_EVENTS)
    raise ValueError(kind)


def _plan(feed: Feed, last_event_id: int | None) -> tuple[ResumePlan, bool]:
    """The resume plan, and whether the feed is already complete for this client (204)."""
    # The organisation's own newest id, never the global one: how a position compares with
    # the global id would tell a tenant how much every other tenant has published. Within an
    # organisation seq follows id, and (organization, seq) is a unique index: one index probe.
    newest = (
        Event.objects.filter(organization_id=feed.organization_id)
        .order_by("-seq")
        .values_list("id", flat=True)
        .first()
        or 0
    )
    pruned = (
        OrgEventSequence.objects.filter(organization_id=feed.organization_id)
        .values_list("pruned_through_id", flat=True)
        .first()
        or 0
    )
    # Retention may have emptied the store: a position up to the pruned mark is still known.
    plan = plan_resume(
        last_event_id,
        replay_history=feed.replays_history,
        newest_id=max(newest, pruned),
        pruned_through_id=pruned,
    )
    finished = False
    if (
        feed.terminal
        and plan.after_id is not None
        and plan.reset_reason is None
        and last_event_id is not None
    ):
        events = Event.objects.for_feed(feed.organization_id, feed.kind, feed.key)
        finished = (
            not events.filter(id__gt=last_event_id).exists()
            and events.filter(id__lte=last_event_id, type__in=feed.terminal).exists()
        )
    return plan, finished


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
    if feed.kind == JOB:
        job_model = apps.get_model("jobs", "Job")
        finished = job_model.objects.filter(pk=feed.key, status__in=JOB_FINISHED_STATUSES).exists()
    elif feed.kind == BATCH:
        batch_model = apps.get_model("deals", "Batch")
        finished = batch_model.objects.filter(pk=feed.key, status="completed").exists()
    else:
        return False
    events = Event.objects.for_feed(feed.organization_id, feed.kind, feed.key)
    return finished and not events.filter(type__in=feed.terminal).exists()


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


async def stream_feed(hub: Hub, subscriber: Subscriber, feed: Feed, plan: ResumePlan) -> AsyncIterator[bytes]:
    """The body of one SSE response; its `finally` frees everything the stream held."""
    try:
        if plan.reset_reason is not None:
            earliest = await db_call(_earliest_id)(feed)
            yield encode_event(
                "stream.reset",
                {
                    "type": "stream.reset",
                    "reason": plan.reset_reason,
                    "earliest_id": earliest,
                    "timestamp": timezone.now().isoformat(),
                },
            )
        last_sent = 0
        if plan.after_id is not None:
            last_sent = plan.after_id
            while True:
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
    finally:
        await _release(hub, subscriber)


async def _release(hub: Hub, subscriber: Subscriber) -> None:
    hub.unsubscribe(subscriber)
    if subscriber.holder is not None:
        try:
            await hub.slots.release(subscriber.holder, subscriber.stream_id)
        except Exception:
            logger.warning("Could not release the stream slot of %s", subscriber.stream_id, exc_info=True)


async def open_feed(request: HttpRequest, kind: str, key: object = None) -> HttpResponseBase:
    """Authenticate, check limits and the object, subscribe, then answer with the stream.

    Every refusal is a JSON error sent before any stream byte.
    """
    actor = await authenticate_stream(request)
    if not isinstance(actor, Actor):
        return actor
    try:
        last_event_id = last_event_id_of(request)
    except BadLastEventId as exc:
        return json_error(400, "invalid_last_event_id", str(exc))
    try:
        types = types_of(request)
    except BadTypes as exc:
        return json_error(400, "invalid_types", str(exc), {"types": [str(exc)]})
    organization_id = actor.organization.pk
    feed = await db_call(resolve_feed)(organization_id, kind, key)
    if feed is None:
        return json_error(404, "not_found", f"No such {kind}.")
    feed = replace(feed, types=with_closing_events(types, feed.terminal))

    hub = get_hub()
    subscriber = subscriber_for(
        feed.types,
        organization_id,
        kind,
        key,
        api_key_id=actor.api_key.pk if actor.api_key else None,
        expires_at=actor.api_key.expires_at if actor.api_key else None,
        user_id=actor.user.pk if actor.user is not None else None,
    )
    if subscriber.holder is not None and not await hub.slots.acquire(subscriber.holder, subscriber.stream_id):
        return json_error(429, "too_many_streams", too_many_streams_message(subscriber.holder))
    try:
        await hub.subscribe(subscriber)
        plan, finished = await db_call(_plan)(feed, last_event_id)
    except Exception:
        await _release(hub, subscriber)
        # The channel layer (Redis) or the database is away: say so, and when to retry.
        logger.exception("Could not open a %s stream", kind)
        response = json_error(
            503, "stream_unavailable", "Live events are unavailable right now; retry in a few seconds."
        )
        response["Retry-After"] = "5"
        return response
    except BaseException:
        await _release(hub, subscriber)
        raise
    if finished:
        await _release(hub, subscriber)
        return HttpResponse(status=204)
    return sse_response(stream_feed(hub, subscriber, feed, plan))
