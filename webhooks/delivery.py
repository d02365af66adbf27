"""Delivery: each endpoint reads the event store after its cursor, in id order, one run at a time.

A run is started right after an event of a subscribed type commits (`on_event_committed`),
when a retry falls due (a timer, and the periodic sweep `deliver_due`, which also catches
any trigger that was lost). A run first *claims* its endpoint with one atomic UPDATE, so two
workers never deliver to the same endpoint at once and events go out in id order. Only a
2xx answer moves the cursor past an event: a worker that dies mid-run leaves it where it
was, and the event is sent again once the claim's lease runs out (at least once).
"""

from __future__ import annotations

import datetime
import json
import logging
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, F, Max, OuterRef, Q
from django.db.models.functions import Least
from django.utils import timezone
from ulid import ULID

from events.filters import matches
from events.models import Event
from events.publish import publish_event
from outbound.http import OutboundError
from webhooks import transport
from webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from webhooks.signing import delivery_headers
from webhooks.subscriptions import forget_subscriptions, subscriptions

logger = logging.getLogger(__name__)

# Events read from the store per query.
BATCH_SIZE = 200
# A run hands its worker back after this long (and queues itself again), so one busy endpoint
# cannot keep every worker from the others.
RUN_MAX_SECONDS = 5.0
# Retries further away than this are left to the periodic sweep instead of a timer.
TIMER_MAX_SECONDS = 60.0
PING_TYPE = "webhook.ping"
# A run queued longer ago than this without starting is presumed lost (e.g. with its broker).
QUEUED_RUN_LOST_AFTER = datetime.timedelta(seconds=30)


def _lease() -> datetime.timedelta:
    # Longer than one request may take: a live run renews it before every send.
    return datetime.timedelta(seconds=settings.WEBHOOK_TIMEOUT_SECONDS + 30)


def _body(msg_id: str | int, type_: str, timestamp: str, data: Any) -> bytes:
    payload = {"id": msg_id, "type": type_, "timestamp": timestamp, "data": data}
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False, default=str).encode()


def event_body(event: Event) -> bytes:
    """The body of a delivery: the stored event, with the id it has on SSE and in the log."""
    timestamp = event.data.get("timestamp") if isinstance(event.data, dict) else None
    return _body(event.id, event.type, timestamp or event.created_at.isoformat(), event.data)


@dataclass(frozen=True)
class Attempt:
    status: int | None
    duration_ms: int
    error: str

    @property
    def delivered(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def send(endpoint: WebhookEndpoint, msg_id: str, body: bytes) -> Attempt:
    """One signed POST of `body` to the endpoint; never raises for what the receiver does."""
    now = timezone.now()
    headers = delivery_headers(msg_id, int(now.timestamp()), body, endpoint.signing_secrets(now))
    started = time.monotonic()
    try:
        response = transport.post(
            endpoint.url,
            body,
            headers,
            allow_private=settings.WEBHOOK_ALLOW_PRIVATE_URLS,
            timeout=settings.WEBHOOK_TIMEOUT_SECONDS,
        )
    except OutboundError as exc:
        return Attempt(None, round((time.monotonic() - started) * 1000), exc.message[:300])
    error = "" if 200 <= response.status < 300 else f"The endpoint answered HTTP {response.status}"
    return Attempt(response.status, round(response.elapsed * 1000), error)


# --- triggering runs ----------------------------------------------------------------------


def _has_pending_events() -> Exists:
    return Exists(
        Event.objects.filter(organization_id=OuterRef("organization_id"), id__gt=OuterRef("cursor"))
    )


def _due(now: datetime.datetime) -> Q:
    """Enabled, not claimed by a live run, and not waiting for a retry."""
    return (
        Q(enabled=True)
        & (Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        & (Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
    )


def schedule_run(endpoint_id: str, delay: float = 0.0) -> None:
    """Start a delivery run of the endpoint now, or after `delay` seconds."""
    from jobs.runner import submit
    from webhooks.tasks import deliver_webhook

    try:
        if delay <= 0:
            submit(deliver_webhook, endpoint_id)
        elif delay > TIMER_MAX_SECONDS or settings.JOB_RUNNER == "inline":
            return  # the sweep starts it when it falls due
        elif settings.JOB_RUNNER == "celery":
            deliver_webhook.apply_async(args=(endpoint_id,), countdown=delay)
        else:
            timer = threading.Timer(delay, submit, args=(deliver_webhook, endpoint_id))
            timer.daemon = True
            timer.start()
    except Exception:
        # The broker is away: nothing is lost, the periodic sweep starts the run once it is back.
        logger.warning("Could not queue a delivery run of webhook %s; the sweep will", endpoint_id)


def on_event_committed(sender: Any, event: Event, **_: Any) -> None:
    """Receiver of `events.signals.event_committed`: wake the endpoints subscribed to the event.

    An endpoint that already has a run queued is left alone: that run starts after this event
    committed, so it will read it. (A queued run lost with its broker is noticed after
    QUEUED_RUN_LOST_AFTER, and the sweep starts one anyway.) An organisation without a
    subscribed endpoint costs no query (`subscriptions` is cached).
    """
    now = timezone.now()
    not_queued = Q(run_queued_at__isnull=True) | Q(run_queued_at__lt=now - QUEUED_RUN_LOST_AFTER)
    for endpoint_id, patterns in subscriptions(event.organization_id):
        if not matches(patterns, event.type):
            continue
        # Only the trigger that marks the endpoint queues the run; concurrent ones find it marked.
        if WebhookEndpoint.objects.filter(_due(now), not_queued, pk=endpoint_id).update(run_queued_at=now):
            schedule_run(endpoint_id)


def deliver_due() -> list[str]:
    """Start a run for every due endpoint with events after its cursor (the periodic sweep)."""
    now = timezone.now()
    due = list(WebhookEndpoint.objects.filter(_due(now), _has_pending_events()).values_list("pk", flat=True))
    for endpoint_id in due:
        schedule_run(endpoint_id)
    return due


# --- one run ------------------------------------------------------------------------------


def run_endpoint(endpoint_id: str) -> int:
    """Deliver the endpoint's pending events in id order; returns how many were delivered."""
    token = uuid.uuid4().hex
    now = timezone.now()
    claimed = WebhookEndpoint.objects.filter(_due(now), pk=endpoint_id).update(
        claim_token=token, claimed_until=now + _lease(), run_queued_at=None
    )
    if not claimed:
        return 0  # another run has it, or it is disabled or waiting for a retry
    delivered = 0
    started = time.monotonic()
    try:
        while time.monotonic() - started < RUN_MAX_SECONDS:
            endpoint = WebhookEndpoint.objects.filter(pk=endpoint_id, claim_token=token).first()
            if endpoint is None or not endpoint.enabled:
                break
            if endpoint.next_attempt_at is not None and endpoint.next_attempt_at > timezone.now():
                break
            events = list(
                Event.objects.filter(
                    organization_id=endpoint.organization_id, id__gt=endpoint.cursor
                ).order_by("id")[:BATCH_SIZE]
            )
            if not events:
                break
            count, stop = _deliver_in_order(endpoint, token, events)
            delivered += count
            if stop:
                break
    finally:
        WebhookEndpoint.objects.filter(pk=endpoint_id, claim_token=token).update(
            claim_token="", claimed_until=None
        )
    # An event that committed while this run held the claim found the endpoint busy and
    # started nothing: look once more now that the claim is released.
    if WebhookEndpoint.objects.filter(_due(timezone.now()), _has_pending_events(), pk=endpoint_id).exists():
        schedule_run(endpoint_id)
    return delivered


def _keep_claim(endpoint: WebhookEndpoint, token: str) -> bool:
    """Renew the lease when less than one request's worth of it is left; False if it was lost."""
    now = timezone.now()
    margin = datetime.timedelta(seconds=settings.WEBHOOK_TIMEOUT_SECONDS + 5)
    if endpoint.claimed_until is not None and endpoint.claimed_until - now > margin:
        return True
    endpoint.claimed_until = now + _lease()
    return bool(
        WebhookEndpoint.objects.filter(pk=endpoint.pk, claim_token=token).update(
            claimed_until=endpoint.claimed_until
        )
    )


def _move_cursor(endpoint: WebhookEndpoint, token: str, to: int, **fields: Any) -> bool:
    """Advance the cursor unless a replay moved it meanwhile (then the run re-reads it)."""
    moved = WebhookEndpoint.objects.filter(pk=endpoint.pk, claim_token=token, cursor=endpoint.cursor).update(
        cursor=to, **fields
    )
    if moved:
        endpoint.cursor = to
    return bool(moved)


# What a run does after an attempt: go on with the next event, re-read the endpoint (a replay
# moved its cursor), or stop (waiting for a retry, disabled, or the claim was lost).
NEXT, REREAD, STOP = "next", "reread", "stop"


def _deliver_in_order(endpoint: WebhookEndpoint, token: str, events: list[Event]) -> tuple[int, bool]:
    """Deliver `events` (the next ones after the cursor); `(delivered, stop the run)`."""
    delivered = 0
    skipped_to = None
    for event in events:
        if not matches(endpoint.event_types, event.type):
            skipped_to = event.id
            continue
        if skipped_to is not None:
            if not _move_cursor(endpoint, token, skipped_to):
                return delivered, False
            skipped_to = None
        if not _keep_claim(endpoint, token):
            return delivered, True
        attempt_number = endpoint.attempt + 1
        attempt = send(endpoint, str(event.id), event_body(event))
        if attempt.delivered:
            with transaction.atomic():
                if not _move_cursor(
                    endpoint, token, event.id, attempt=0, next_attempt_at=None, failing_since=None
                ):
                    return delivered, False
                _record(endpoint, event, attempt_number, attempt, DeliveryStatus.DELIVERED)
            endpoint.attempt, endpoint.failing_since = 0, None
            delivered += 1
            continue
        outcome = _after_failure(endpoint, token, event, attempt_number, attempt)
        if outcome != NEXT:
            return delivered, outcome == STOP
    if skipped_to is not None:
        _move_cursor(endpoint, token, skipped_to)
    return delivered, False


def _after_failure(
    endpoint: WebhookEndpoint, token: str, event: Event, attempt_number: int, attempt: Attempt
) -> str:
    """Record a failed attempt and decide what the run does next (NEXT, REREAD or STOP)."""
    now = timezone.now()
    failing_since = endpoint.failing_since or now
    schedule = settings.WEBHOOK_RETRY_SCHEDULE
    if (now - failing_since).total_seconds() >= settings.WEBHOOK_DISABLE_AFTER_SECONDS:
        _disable(endpoint, token, event, attempt_number, attempt, failing_since)
        return STOP
    if attempt_number < len(schedule):
        delay = schedule[attempt_number]
        next_at = now + datetime.timedelta(seconds=delay)
        with transaction.atomic():
            updated = WebhookEndpoint.objects.filter(
                pk=endpoint.pk, claim_token=token, cursor=endpoint.cursor
            ).update(attempt=attempt_number, next_attempt_at=next_at, failing_since=failing_since)
            if not updated:
                return REREAD
            _record(endpoint, event, attempt_number, attempt, DeliveryStatus.RETRYING, next_at)
        if delay > 0:
            # A little late rather than early: a run that starts before the retry is due does nothing.
            schedule_run(endpoint.pk, delay + 0.05)
            return STOP
        return REREAD
    # The last attempt failed: give this event up (a replay can send it again) and go on.
    with transaction.atomic():
        if not _move_cursor(
            endpoint, token, event.id, attempt=0, next_attempt_at=None, failing_since=failing_since
        ):
            return REREAD
        _record(endpoint, event, attempt_number, attempt, DeliveryStatus.FAILED)
    endpoint.attempt, endpoint.failing_since = 0, failing_since
    return NEXT


def _disable(
    endpoint: WebhookEndpoint,
    token: str,
    event: Event,
    attempt_number: int,
    attempt: Attempt,
    failing_since: datetime.datetime,
) -> None:
    days = settings.WEBHOOK_DISABLE_AFTER_SECONDS / 86400
    reason = f"Every delivery failed for {days:g} days (since {failing_since.isoformat()}): {attempt.error}"
    reason = reason[:200]
    with transaction.atomic():
        # The endpoint's row lock comes before the publish's sequence lock (docs/architecture.md).
        disabled = WebhookEndpoint.objects.filter(pk=endpoint.pk, claim_token=token).update(
            enabled=False, disabled_reason=reason, attempt=0, next_attempt_at=None, failing_since=None
        )
        if not disabled:
            return
        forget_subscriptions(WebhookEndpoint, endpoint)
        _record(endpoint, event, attempt_number, attempt, DeliveryStatus.FAILED)
        publish_event(
            endpoint.organization_id,
            "webhook.endpoint_disabled",
            {"webhook_id": endpoint.pk, "url": endpoint.url, "reason": reason},
        )
    logger.warning("Webhook endpoint %s disabled after failing since %s", endpoint.pk, failing_since)


def _record(
    endpoint: WebhookEndpoint,
    event: Event | None,
    attempt_number: int,
    attempt: Attempt,
    status: str,
    next_attempt_at: datetime.datetime | None = None,
) -> WebhookDelivery:
    """Log one attempt; `event` is None for a ping."""
    return WebhookDelivery.objects.create(
        endpoint=endpoint,
        event_id=event.id if event else None,
        type=event.type if event else PING_TYPE,
        attempt=attempt_number,
        status=status,
        response_code=attempt.status,
        duration_ms=attempt.duration_ms,
        error=attempt.error,
        next_attempt_at=next_attempt_at,
    )


# --- operations of the API ----------------------------------------------------------------


def newest_event_id(organization_id: int) -> int:
    """Where a new endpoint starts: it receives the events published after its creation."""
    return Event.objects.filter(organization_id=organization_id).aggregate(Max("id"))["id__max"] or 0


def replay(endpoint: WebhookEndpoint, since_id: int) -> int:
    """Send again every subscribed event after `since_id`, in order; returns the new cursor."""
    with transaction.atomic():
        WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
            cursor=Least(F("cursor"), since_id), attempt=0, next_attempt_at=None
        )
        endpoint.refresh_from_db()
    transaction.on_commit(lambda: schedule_run(endpoint.pk))
    return endpoint.cursor


def ping(endpoint_id: str) -> WebhookDelivery | None:
    """Send a `webhook.ping` to the endpoint and record the attempt (it is not retried)."""
    endpoint = WebhookEndpoint.objects.filter(pk=endpoint_id).first()
    if endpoint is None:
        return None
    msg_id = f"ping_{ULID()}"
    body = _body(msg_id, PING_TYPE, timezone.now().isoformat(), {"webhook_id": endpoint.pk})
    attempt = send(endpoint, msg_id, body)
    status = DeliveryStatus.DELIVERED if attempt.delivered else DeliveryStatus.FAILED
    return _record(endpoint, None, 1, attempt, status)


def prune_deliveries() -> int:
    """Forget delivery attempts older than the event retention period."""
    cutoff = timezone.now() - datetime.timedelta(days=settings.EVENT_RETENTION_DAYS)
    deleted, _ = WebhookDelivery.objects.filter(created_at__lt=cutoff).delete()
    return deleted
