"""How a page's tabs share one connection: the organisation's feed, held by a SharedWorker.

Browsers open at most six HTTP/1.1 connections per host, so a feed per tab hangs the seventh
tab. Every page therefore reads the organisation's feed, which carries every deal and batch
event, through one worker per browser, and keeps the events of its own feed: those of the
feed's types (events.catalogue) whose data names the page's deal or batch, exactly the
events the deal or batch feed would have sent (their membership comes from the same field).
"""

from __future__ import annotations

from django.templatetags.static import static
from django.urls import reverse

from accounts.models import Membership
from events.catalogue import BATCH, DEAL, EVENT_FEEDS

WORKER = "dashboard/feed-worker.js"


def shared_feed(membership: Membership, feed: str | None = None, key: object = None) -> dict[str, object]:
    """The `shared` part of a page's live config; `feed`/`key` narrow it to a deal or a batch.

    The worker's name keys it to the user and organisation: tabs of someone else who signs
    in later in the same browser get a worker (and a stream) of their own.
    """
    route: dict[str, object] = {
        "feed": reverse("events-org"),
        "worker": static(WORKER),
        "name": f"dealstream-feed-{membership.organization_id}-{membership.user_id}",
    }
    if feed is not None:
        if feed not in (DEAL, BATCH):
            raise ValueError(f"Pages follow a deal or a batch, not {feed!r}")
        route["field"] = f"{feed}_id"
        route["value"] = key
        route["types"] = sorted(name for name, feeds in EVENT_FEEDS.items() if feed in feeds)
    return route
