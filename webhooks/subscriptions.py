"""Which endpoints of an organisation listen for which events, cached: asked on every publish.

Every committed event asks this, most of them in organisations without a webhook, so the
answer is kept in the process for `LOCAL_SECONDS` (a publisher's burst asks nothing at all)
and in Django's cache (Redis when distributed, shared by every process) for `CACHE_SECONDS`.
Both are dropped whenever an endpoint is saved or deleted, at once and again after the change
commits; other processes see the change within `LOCAL_SECONDS`. A lookup racing a change can
still put the old answer back for up to `CACHE_SECONDS`; the periodic sweep (`deliver_due`,
every WEBHOOK_SWEEP_SECONDS) reads the endpoints themselves, so an event such a stale answer
missed is delivered at the next sweep, never lost.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from django.core.cache import cache
from django.db import transaction

from webhooks.models import WebhookEndpoint

logger = logging.getLogger(__name__)

CACHE_SECONDS = 60
LOCAL_SECONDS = 1.0

Subscriptions = list[tuple[str, list[str]]]

# organisation id -> (time.monotonic() deadline, its subscriptions)
_local: dict[int, tuple[float, Subscriptions]] = {}


def _cache_key(organization_id: int) -> str:
    return f"webhook-subscriptions:{organization_id}"


def subscriptions(organization_id: int) -> Subscriptions:
    """(endpoint id, event type patterns) of the organisation's enabled endpoints."""
    kept = _local.get(organization_id)
    if kept is not None and kept[0] > time.monotonic():
        return kept[1]
    found = _shared(organization_id)
    _local[organization_id] = (time.monotonic() + LOCAL_SECONDS, found)
    return found


def _shared(organization_id: int) -> Subscriptions:
    entry = _cache_key(organization_id)
    try:
        cached: Subscriptions | None = cache.get(entry)
    except Exception:
        logger.warning("Webhook subscription cache unavailable", exc_info=True)
        cached = None
    if cached is not None:
        return cached
    found = [
        (pk, list(patterns))
        for pk, patterns in WebhookEndpoint.objects.filter(
            organization_id=organization_id, enabled=True
        ).values_list("pk", "event_types")
    ]
    try:
        cache.set(entry, found, CACHE_SECONDS)
    except Exception:
        logger.warning("Webhook subscription cache unavailable", exc_info=True)
    return found


def forget_subscriptions(sender: Any, instance: WebhookEndpoint, **kwargs: Any) -> None:
    """Drop the organisation's cached answer (a `post_save`/`post_delete` receiver)."""
    organization_id = instance.organization_id
    _forget(organization_id)
    transaction.on_commit(lambda: _forget(organization_id))


def _forget(organization_id: int) -> None:
    _local.pop(organization_id, None)
    try:
        cache.delete(_cache_key(organization_id))
    except Exception:
        logger.warning("Could not drop cached webhook subscriptions", exc_info=True)
