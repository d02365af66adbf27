"""Periodic work of the event backbone."""

from __future__ import annotations

from celery import shared_task

from events.retention import prune_events as prune


@shared_task(name="events.tasks.prune_events")
def prune_events() -> int:
    """Remove events older than EVENT_RETENTION_DAYS."""
    return prune()
