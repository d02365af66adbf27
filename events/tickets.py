"""Stream tickets (spec §8a): short-lived, single-use credentials for opening one feed.

`EventSource` cannot send headers, so a browser would otherwise put its API key in the
URL (`?token=`), where proxies and access logs keep it. A ticket is asked for with the
key in the Authorization header and redeemed once, within STREAM_TICKET_TTL_SECONDS, as
`?ticket=` on exactly the feed (and within the `types` filter) it was issued for. The
stream it opens belongs to the key: it counts against the key's limits and closes when
the key is revoked, like the key's own streams.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from django.conf import settings
from django.http import HttpRequest
from django.urls import Resolver404, resolve
from django.utils import timezone

from accounts.auth import Actor, AuthError
from accounts.models import ApiKey, hash_key
from core.context import bind_principal
from events.catalogue import BATCH, DEAL, JOB, ORG
from events.filters import BadTypes, types_of
from events.models import StreamTicket
from events.resume import BadLastEventId, last_event_id_of

TICKET_PARAM = "ticket"
TICKET_PREFIX = "dst_"
MAX_TICKET_LENGTH = 100

# The feeds' routes (events/urls.py) and the keyword naming each one's object.
FEED_ROUTES: dict[str, tuple[str, str | None]] = {
    "events-org": (ORG, None),
    "events-deal": (DEAL, "deal_id"),
    "events-batch": (BATCH, "batch_id"),
    "events-job": (JOB, "job_id"),
}


class TicketRefused(AuthError):
    """A ticket was presented and refused: 401 (unknown, spent, expired) or 403 (another feed)."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(code, message)
        self.status = status


def feed_of_path(path: str) -> tuple[str, object] | None:
    """The feed a path opens, as (kind, object id), or None when it is not a feed."""
    try:
        match = resolve(path)
    except Resolver404:
        return None
    route = FEED_ROUTES.get(match.url_name or "")
    if route is None:
        return None
    kind, argument = route
    return kind, (match.kwargs[argument] if argument else None)


def issue_ticket(
    api_key: ApiKey, kind: str, key: object, types: frozenset[str] | None
) -> tuple[str, StreamTicket]:
    """A new ticket for `api_key` on one feed; returns the secret (shown once) and the row.

    The key's spent and expired tickets go at the same time, so a key never holds more
    rows than the tickets it asked for in the last minute.
    """
    now = timezone.now()
    StreamTicket.objects.filter(api_key=api_key, expires_at__lte=now).delete()
    StreamTicket.objects.filter(api_key=api_key, used_at__isnull=False).delete()
    raw = TICKET_PREFIX + secrets.token_urlsafe(32)
    ticket = StreamTicket.objects.create(
        organization_id=api_key.organization_id,
        api_key=api_key,
        token_hash=hash_key(raw),
        feed_kind=kind,
        feed_key="" if key is None else str(key),
        types=",".join(sorted(types)) if types is not None else "",
        scopes=list(api_key.scopes),
        expires_at=now + timedelta(seconds=settings.STREAM_TICKET_TTL_SECONDS),
    )
    return raw, ticket


def redeem_ticket(request: HttpRequest) -> Actor:
    """The caller of a stream opened with `?ticket=`; spends the ticket. Raises TicketRefused.

    Nothing is spent by a refused attempt: a ticket used on the wrong feed by mistake
    still opens the right one.
    """
    raw = request.GET.get(TICKET_PARAM, "")
    if not raw.startswith(TICKET_PREFIX) or len(raw) > MAX_TICKET_LENGTH:
        raise TicketRefused(401, "invalid_ticket", "The stream ticket is malformed.")
    ticket = (
        StreamTicket.objects.select_related("api_key__organization").filter(token_hash=hash_key(raw)).first()
    )
    if ticket is None:
        raise TicketRefused(401, "invalid_ticket", "The stream ticket is not valid.")
    if ticket.used_at is not None:
        raise TicketRefused(401, "ticket_used", "This stream ticket has been used; ask for a new one.")
    now = timezone.now()
    if ticket.expires_at <= now:
        raise TicketRefused(401, "ticket_expired", "This stream ticket has expired; ask for a new one.")
    feed = feed_of_path(request.path_info)
    if feed is None or (feed[0], "" if feed[1] is None else str(feed[1])) != (
        ticket.feed_kind,
        ticket.feed_key,
    ):
        raise TicketRefused(403, "ticket_wrong_feed", "This stream ticket was issued for another feed.")
    _check_types(request, ticket)
    try:
        last_event_id_of(request)  # answered by the feed, but a refusal must not spend the ticket
    except BadLastEventId as exc:
        raise TicketRefused(400, "invalid_last_event_id", str(exc)) from None
    key = ticket.api_key
    if key.revoked_at is not None:
        raise TicketRefused(401, "api_key_revoked", "The API key of this ticket has been revoked.")
    if key.expires_at is not None and key.expires_at <= now:
        raise TicketRefused(401, "api_key_expired", "The API key of this ticket has expired.")
    # Of two concurrent redemptions only one finds the row unspent.
    if not StreamTicket.objects.filter(pk=ticket.pk, used_at__isnull=True).update(used_at=now):
        raise TicketRefused(401, "ticket_used", "This stream ticket has been used; ask for a new one.")
    # The stream may do what the key could do when the ticket was issued, and no more
    # (nor more than the key can do now). The key row itself is never saved from here.
    key.scopes = [scope for scope in key.scopes if scope in ticket.scopes]
    key.touch()
    bind_principal(org=key.organization_id, key_prefix=key.prefix)
    return Actor(organization=key.organization, api_key=key)


def _check_types(request: HttpRequest, ticket: StreamTicket) -> None:
    """A ticket issued for some types opens the feed with those (or fewer), never more."""
    try:
        requested = types_of(request)
    except BadTypes as exc:
        raise TicketRefused(400, "invalid_types", str(exc)) from None
    if not ticket.types:
        return
    allowed = frozenset(ticket.types.split(","))
    if requested is None or not requested <= allowed:
        raise TicketRefused(
            403,
            "ticket_wrong_types",
            "This stream ticket was issued for a `types` filter: open the feed with it (the ticket's `url`).",
        )
