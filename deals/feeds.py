"""The deal and batch feeds, as kinds the event feeds resolve (registered in `DealsConfig.ready`)."""

from __future__ import annotations

from typing import Any

from deals.models import Batch, BatchStatus, Deal
from events.catalogue import BATCH, BATCH_TERMINAL_EVENTS, DEAL
from events.feeds import register_feed_kind


def deal_feed(organization_id: int, deal_id: Any) -> frozenset[str] | None:
    """A deal's feed never closes; None when the deal is not in the organisation."""
    if not Deal.objects.filter(organization_id=organization_id, pk=deal_id).exists():
        return None
    return frozenset()


def batch_feed(organization_id: int, batch_id: Any) -> frozenset[str] | None:
    """A batch's feed closes after `batch.completed`."""
    if not Batch.objects.filter(organization_id=organization_id, pk=batch_id).exists():
        return None
    return BATCH_TERMINAL_EVENTS


def batch_has_ended(batch_id: Any) -> bool:
    return Batch.objects.filter(pk=batch_id, status=BatchStatus.COMPLETED).exists()


def register() -> None:
    register_feed_kind(DEAL, deal_feed)
    register_feed_kind(BATCH, batch_feed, has_ended=batch_has_ended)
