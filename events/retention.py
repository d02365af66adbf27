"""Retention: stored events older than EVENT_RETENTION_DAYS are removed."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from events.models import Event, OrgEventSequence


def prune_events(now: datetime | None = None) -> int:
    """Delete expired events and record, per organisation, the newest id removed.

    Resuming streams compare their position with that mark to tell a client that it
    may have missed events (`stream.reset`) instead of skipping them silently.
    """
    cutoff = (now or timezone.now()) - timedelta(days=settings.EVENT_RETENTION_DAYS)
    deleted = 0
    expired = Event.objects.filter(created_at__lt=cutoff)
    for row in expired.values("organization_id").annotate(newest=Max("id")):
        with transaction.atomic():
            OrgEventSequence.objects.filter(
                organization_id=row["organization_id"], pruned_through_id__lt=row["newest"]
            ).update(pruned_through_id=row["newest"])
            count, _ = Event.objects.filter(
                organization_id=row["organization_id"], id__lte=row["newest"], created_at__lt=cutoff
            ).delete()
            deleted += count
    return deleted
