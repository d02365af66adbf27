"""`publish_event`: store an event, then fan it out once its transaction has committed."""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import json
import logging
import os
import threading
from concurrent.futures import Future
from typing import Any

from channels.layers import get_channel_layer
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from core import metrics
from core.context import request_id_var
from events.catalogue import BATCH, DEAL, JOB, ORG, feeds_of
from events.encoding import encode_event
from events.models import Event, OrgEventSequence
from events.signals import event_committed

logger = logging.getLogger(__name__)


def org_group(organization_id: int) -> str:
    """The channel-layer group carrying every event of one organisation."""
    return f"org.{organization_id}"


def _next_seq(organization_id: int) -> int:
    """Bump the organisation's counter; the row lock is held until the caller commits."""
    table = OrgEventSequence._meta.db_table
    sql = f"UPDATE {table} SET last_seq = last_seq + 1 WHERE organization_id = %s RETURNING last_seq"  # noqa: S608
    return int(_bump_counter(organization_id, sql, [organization_id])[0])


def _bump_counter(organization_id: int, sql: str, params: list[Any]) -> tuple[Any, ...]:
    """The row of `sql`, whose UPDATE bumps the organisation's counter (created by its first event)."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
        if row is None:  # the organisation's first event: create its counter, then retry
            OrgEventSequence.objects.bulk_create(
                [OrgEventSequence(organization_id=organization_id, last_seq=0)], ignore_conflicts=True
            )
            cursor.execute(sql, params)
            row = cursor.fetchone()
    return row


def _store(event: Event) -> None:
    """Insert `event` with the next `seq` of its organisation, under the counter's row lock."""
    if connection.vendor == "postgresql":
        _store_in_one_statement(event)
        return
    with transaction.atomic():
        event.seq = _next_seq(event.organization_id)
        event.save(force_insert=True)


# One round trip instead of four (BEGIN, UPDATE, INSERT, COMMIT): publishing is on every
# pipeline step's path. The UPDATE takes the counter's row lock before the INSERT can draw
# its id, and the lock lasts until the statement's (or the caller's) transaction commits,
# which keeps visibility order equal to id order within the organisation.
_INSERT_WITH_SEQ = """
WITH next AS (
    UPDATE {sequences} SET last_seq = last_seq + 1 WHERE organization_id = %s RETURNING last_seq
)
INSERT INTO {events}
    (organization_id, seq, type, data, in_org_feed, deal_id, batch_id, job_id, request_id, created_at)
SELECT %s, next.last_seq, %s, %s::jsonb, %s, %s, %s, %s, %s, %s FROM next
RETURNING id, seq
"""


def _store_in_one_statement(event: Event) -> None:
    sql = _INSERT_WITH_SEQ.format(sequences=OrgEventSequence._meta.db_table, events=Event._meta.db_table)
    params: list[Any] = [
        event.organization_id,
        event.organization_id,
        event.type,
        json.dumps(event.data),
        event.in_org_feed,
        event.deal_id,
        event.batch_id,
        event.job_id,
        event.request_id,
        event.created_at,
    ]
    row = _bump_counter(event.organization_id, sql, params)
    event.id, event.seq = int(row[0]), int(row[1])
    event._state.adding = False
    event._state.db = connection.alias


def publish_event(
    organization_id: int,
    event_type: str,
    data: dict[str, Any],
    *,
    request_id: str | None = None,
) -> Event:
    """Store the event (its id becomes the SSE `id:`) and fan it out after commit.

    `data` carries the fields of the event catalogue; `type`, `timestamp` and
    `request_id` (the current request's when not given) are added here. Feed
    membership comes from the catalogue and the `deal_id`/`batch_id`/`job_id` in `data`.
    """
    feeds = feeds_of(event_type)
    request_id = request_id or data.get("request_id") or request_id_var.get()
    now = timezone.now()
    payload = {**data, "type": event_type, "timestamp": now.isoformat()}
    if request_id:
        payload["request_id"] = request_id
    event = Event(
        organization_id=organization_id,
        type=event_type,
        data=payload,
        in_org_feed=ORG in feeds,
        deal_id=data.get("deal_id") if DEAL in feeds else None,
        batch_id=data.get("batch_id") if BATCH in feeds else None,
        job_id=data.get("job_id") if JOB in feeds else None,
        request_id=request_id or "",
        created_at=now,
    )
    _store(event)
    transaction.on_commit(lambda: _after_commit(event))
    metrics.EVENTS_PUBLISHED.labels(event_type).inc()
    return event


def _after_commit(event: Event) -> None:
    fan_out(event)
    # Listeners (webhook delivery) run after the live fan-out was handed off; one that
    # fails must not undo a publish that has committed.
    for _receiver, outcome in event_committed.send_robust(sender=Event, event=event):
        if isinstance(outcome, Exception):
            logger.warning("A listener of committed events failed: %r", outcome)


def event_message(event: Event) -> dict[str, Any]:
    """The channel-layer message for an event: routing fields plus the encoded SSE frame."""
    return {
        "type": "dealstream.event",
        "org": event.organization_id,
        "seq": event.seq,
        "id": event.id,
        "event": event.type,
        "in_org": event.in_org_feed,
        "deal_id": event.deal_id,
        "batch_id": event.batch_id,
        "job_id": event.job_id,
        "stored_at": event.created_at.timestamp(),
        "frame": encode_event(event.type, event.data, event_id=event.id),
    }


# --- fan-out ----------------------------------------------------------------------------
# Channel layers are asyncio objects bound to one event loop. A web process publishes on
# the loop its hub runs on; any other process (a Celery worker) gets one daemon loop thread.

_hub_loop: asyncio.AbstractEventLoop | None = None
_own_loop: asyncio.AbstractEventLoop | None = None
_own_loop_pid: int | None = None
_loop_lock = threading.Lock()
# Fan-outs sent from this process's own loop and not finished yet (see _flush_at_exit).
_in_flight: set[Future[Any]] = set()
# A process that publishes and then exits (a management command, a worker shutting down)
# waits this long for its last fan-outs; otherwise they would reach subscribers only at
# the hubs' next tail check, up to a heartbeat interval later.
EXIT_FLUSH_SECONDS = 2.0


def register_hub_loop(loop: asyncio.AbstractEventLoop | None) -> None:
    global _hub_loop
    _hub_loop = loop


def _publisher_loop() -> asyncio.AbstractEventLoop | None:
    global _own_loop, _own_loop_pid
    if _hub_loop is not None and _hub_loop.is_running():
        return _hub_loop
    if not settings.DISTRIBUTED:
        # Embedded: the only listeners live on the hub's loop; without a hub nobody listens.
        return None
    with _loop_lock:
        # A forked Celery child inherits the parent's variables but not its threads.
        if _own_loop is None or _own_loop_pid != os.getpid():
            loop = asyncio.new_event_loop()
            threading.Thread(target=loop.run_forever, name="event-publisher", daemon=True).start()
            if _own_loop_pid is None:
                atexit.register(_flush_at_exit)
            _own_loop, _own_loop_pid = loop, os.getpid()
        return _own_loop


def _flush_at_exit() -> None:
    pending = list(_in_flight)
    if pending:
        concurrent.futures.wait(pending, timeout=EXIT_FLUSH_SECONDS)


def _log_failure(future: Future[Any]) -> None:
    exc = future.exception()
    if exc is not None:
        # Subscribers recover the event from the store when the next one arrives.
        logger.warning("Fan-out of an event failed: %r", exc)


def fan_out(event: Event) -> None:
    """Send the stored event to its organisation's group, without waiting for it."""
    loop = _publisher_loop()
    if loop is None:
        return
    layer = get_channel_layer()
    if layer is None:
        return
    message = event_message(event)
    future = asyncio.run_coroutine_threadsafe(
        layer.group_send(org_group(event.organization_id), message), loop
    )
    if loop is _own_loop:
        _in_flight.add(future)
        future.add_done_callback(_in_flight.discard)
    future.add_done_callback(_log_failure)
