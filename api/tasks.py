"""Housekeeping for the HTTP contract."""

from __future__ import annotations

from celery import shared_task

from api.idempotency import prune_idempotency_records as prune


@shared_task(name="api.tasks.prune_idempotency_records")
def prune_idempotency_records() -> int:
    """Forget idempotency records older than the replay window."""
    return prune()
