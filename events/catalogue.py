"""The event catalogue of the product contract: which feeds each event type belongs to."""

from __future__ import annotations

import re

ORG, DEAL, BATCH, JOB = "org", "deal", "batch", "job"

EVENT_FEEDS: dict[str, frozenset[str]] = {
    "deal.created": frozenset({ORG}),
    "processing.started": frozenset({DEAL, ORG}),
    "processing.progress": frozenset({DEAL, ORG}),
    "processing.completed": frozenset({DEAL, ORG}),
    "processing.failed": frozenset({DEAL, ORG}),
    "deal.status_changed": frozenset({DEAL, ORG}),
    "proposed_change": frozenset({DEAL, ORG}),
    "deal.decision": frozenset({DEAL, ORG}),
    "proposal.rejected": frozenset({DEAL, ORG}),
    "deal.rescored": frozenset({DEAL, ORG}),
    "statement.removed": frozenset({DEAL, ORG}),
    "webhook.endpoint_disabled": frozenset({ORG}),
    "batch.document_processed": frozenset({BATCH, ORG}),
    "batch.document_failed": frozenset({BATCH, ORG}),
    "batch.completed": frozenset({BATCH, ORG}),
    "status": frozenset({JOB}),
    "progress": frozenset({JOB}),
    "completed": frozenset({JOB}),
    "failed": frozenset({JOB}),
    "canceled": frozenset({JOB}),
    "usage": frozenset({JOB}),
}

# Events after which a job or batch feed has nothing more to say.
JOB_TERMINAL_EVENTS = frozenset({"completed", "failed", "canceled"})
BATCH_TERMINAL_EVENTS = frozenset({"batch.completed"})

# SSE event names are one token: a newline or colon in a name would break framing.
# `\Z`, not `$`: `$` also matches before a trailing newline, which would let "x\n" through.
EVENT_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_.\-]{0,63}\Z")


def feeds_of(event_type: str) -> frozenset[str]:
    """The feeds an event type is published to; unknown types are a programming error."""
    try:
        return EVENT_FEEDS[event_type]
    except KeyError:
        raise ValueError(f"Unknown event type {event_type!r}; add it to events.catalogue") from None
