"""Building SSE responses: headers, the opening `retry:` and stream bookkeeping."""

from __future__ import annotations

import asyncio
import contextvars
import logging
import random
import time
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.middleware.csrf import CsrfViewMiddleware
from django_ratelimit import ALL
from django_ratelimit.core import EXPIRATION_FUDGE, _get_window, _make_cache_key
from redis.exceptions import RedisError
from rest_framework.permissions import SAFE_METHODS

from accounts.auth import Actor, AuthError, actor_for_user, presented_key
from api.errors import RATE_LIMITED_MESSAGE, json_error
from api.ratelimit import GROUP, WINDOW_SECONDS, RateLimitUsage, consume, principal_of, record_usage
from core.context import bind_principal
from events.encoding import SSE_CONTENT_TYPE, SSE_HEADERS, encode_retry
from events.hub import get_hub
from events.keycache import authenticate_stream_key, cached_stream_key, shared_cache_key
from events.tickets import TICKET_PARAM, redeem_ticket

# Even the luckiest client waits this long after its stream was ended by a stopping process:
# the process is closing its socket, and a load balancer needs a moment to route elsewhere.
SHUTDOWN_RETRY_MIN_MILLISECONDS = 500
logger = logging.getLogger(__name__)


async def stream_principal(request: HttpRequest, scope: str) -> Actor | HttpResponse:
    """Who is asking for a stream, or the JSON error to answer before any stream byte.

    The one place a stream's caller is decided: a key in the Authorization header,
    `?token=`/`?api_key=`, a ticket, or the session; counts the request against the
    caller's rate limit (its client address when the credential is refused), checks the
    scope, and passes a session's unsafe method through Django's CSRF check.
    """
    counted: tuple[Actor | None, JsonResponse | None, RateLimitUsage] | None
    counted = await _identify_and_count_on_loop(request)
    if counted is None:
        context = contextvars.copy_context()
        counted = await asyncio.get_running_loop().run_in_executor(
            None, context.run, _identify_and_count, request
        )
    actor, refusal, usage = counted
    if usage.limited:
        return json_error(429, "rate_limited", RATE_LIMITED_MESSAGE)
    if refusal is not None:
        return refusal
    assert actor is not None
    # The lookup ran in a throwaway context: name the caller in this one's log lines too.
    bind_principal(org=actor.organization.pk, key_prefix=actor.api_key.prefix if actor.api_key else None)
    if not actor.can(scope):
        return json_error(403, "insufficient_scope", f"This caller lacks the '{scope}' permission.")
    if actor.api_key is None and request.method not in SAFE_METHODS:
        check = CsrfViewMiddleware(lambda _request: HttpResponse())
        check.process_request(request)
        csrf_refusal = check.process_view(request, lambda _request: HttpResponse(), (), {})
        if csrf_refusal is not None:
            return csrf_refusal
    return actor


def _identify_and_count(request: HttpRequest) -> tuple[Actor | None, JsonResponse | None, RateLimitUsage]:
    """Who is calling, and the rate-limit count, in one trip to a worker thread.

    Runs in a throwaway context: Django keeps one cache client per async context, and one
    counted in the stream's own context would keep its Redis connection as long as the
    stream (10,000 open streams would hold 10,000 connections, Redis's default `maxclients`).
    """
    refusal = None
    try:
        actor = _resolve_actor(request)
    except AuthError as exc:
        # A refused ticket says 403 when it was issued for another feed; the rest is 401.
        actor, refusal = None, json_error(getattr(exc, "status", 401), exc.code, exc.message)
    if actor is None and refusal is None:
        refusal = json_error(
            401, "unauthenticated", "Send an API key (Authorization: Bearer, or ?token=) or log in."
        )
    api_key, user = (actor.api_key, actor.user) if actor is not None else (None, None)
    return actor, refusal, consume(request, *principal_of(api_key, user, request))


async def _identify_and_count_on_loop(
    request: HttpRequest,
) -> tuple[Actor, None, RateLimitUsage] | None:
    """`_identify_and_count` without a thread, for what a reconnect storm is: keys found in the cache.

    None when the caller is anything else (a ticket, a session, no credential, a key the
    cache does not settle): `_identify_and_count` then decides, on a thread.
    """
    if TICKET_PARAM in request.GET:
        return None
    try:
        raw = presented_key(request, allow_query=True)
    except AuthError:
        return None
    key = await cached_stream_key(raw) if raw is not None else None
    if key is None:
        return None
    identity, limit = principal_of(key, None, request)
    return Actor(organization=key.organization, api_key=key), None, await _count(request, identity, limit)


async def _count(request: HttpRequest, identity: str, limit: int) -> RateLimitUsage:
    """`api.ratelimit.consume` in one Redis round trip: django-ratelimit's counter, window and limit."""
    window = _get_window(identity, WINDOW_SECONDS)
    name = shared_cache_key(_make_cache_key(GROUP, window, f"{limit}/{WINDOW_SECONDS}s", identity, ALL))
    try:
        count = await get_hub().slots.count(name, WINDOW_SECONDS + EXPIRATION_FUDGE)
    except (RedisError, OSError):
        # Fail open, as `consume` does: /status reports Redis.
        logger.warning("Rate-limit counters unavailable; request allowed", exc_info=True)
        count, window = 0, int(time.time()) + WINDOW_SECONDS  # a fresh window
    usage = RateLimitUsage(
        limit=limit, remaining=max(0, limit - count), reset_at=window, limited=count > limit
    )
    return record_usage(request, usage)


def _resolve_actor(request: HttpRequest) -> Actor | None:
    if TICKET_PARAM in request.GET:
        # A stream ticket (events/tickets.py) stands for the key it was issued to.
        return redeem_ticket(request)
    raw = presented_key(request, allow_query=True)
    if raw is not None:
        key = authenticate_stream_key(raw)
        return Actor(organization=key.organization, api_key=key)
    return actor_for_user(request.user)


async def sse_frames(
    stream: AsyncIterator[bytes], on_close: Callable[[], Awaitable[None]] | None = None
) -> AsyncGenerator[bytes, None]:
    """`retry:`, then `stream`, then a jittered `retry:` if the process is stopping; `on_close` at the end."""
    try:
        yield encode_retry(settings.SSE_RETRY_MILLISECONDS)
        async for chunk in stream:
            yield chunk
        if get_hub().draining:
            yield encode_retry(shutdown_retry_milliseconds())
    finally:
        try:
            # Closed here, in order, rather than whenever the garbage collector finds it:
            # `on_close` may free what `stream` is still using.
            await _aclose(stream)
        finally:
            if on_close is not None:
                await on_close()


async def _aclose(stream: AsyncIterator[bytes]) -> None:
    aclose = getattr(stream, "aclose", None)
    if aclose is not None:
        await aclose()


def shutdown_retry_milliseconds() -> int:
    """The reconnection delay given to a stream ended by a stopping process.

    Random across streams, so thousands of clients do not all reconnect in the same
    instant; the next stream's opening `retry:` restores the usual delay.
    """
    low = min(SHUTDOWN_RETRY_MIN_MILLISECONDS, settings.SSE_SHUTDOWN_RETRY_MAX_MILLISECONDS)
    return random.randint(low, settings.SSE_SHUTDOWN_RETRY_MAX_MILLISECONDS)


def sse_response(stream: AsyncIterator[bytes], *, first: bytes | None = None) -> StreamingHttpResponse:
    """The never-buffered response around SSE bytes.

    `stream` without `first` is wrapped by `sse_frames` (it opens with `retry:`); with
    `first`, it is an already started `sse_frames` body whose first frame was `first`.
    Cleanup belongs in the iterator's `finally`: Django cancels it when the client goes away.
    """
    response = StreamingHttpResponse(content_type=SSE_CONTENT_TYPE, headers=SSE_HEADERS)
    body = sse_frames(stream) if first is None else stream
    response.streaming_content = _sending(response, body, first)
    return response


async def _sending(
    response: StreamingHttpResponse, body: AsyncIterator[bytes], first: bytes | None
) -> AsyncIterator[bytes]:
    # Django's handler sends the status line and headers before it asks for the first
    # chunk, so from here on the response's headers are only memory.
    if getattr(response, _FORGET_HEADERS, False):
        for header in list(response.headers):
            del response[header]
    try:
        if first is not None:
            yield first
        async for chunk in body:
            yield chunk
    finally:
        await _aclose(body)


_FORGET_HEADERS = "_dealstream_forget_headers_once_sent"
# What Django built lazily from META (recomputed if asked again) and what the middleware
# attached (user, session): all read while the view ran, none afterwards.
_REQUEST_CACHES = ("GET", "COOKIES", "headers", "user", "auth", "session", "_messages")


def keep_only_what_the_stream_needs(request: HttpRequest, response: StreamingHttpResponse) -> None:
    """Release the request's state and, once sent, the response's headers (ASGI handler only).

    Django's ASGI handler holds the request and the response for as long as a stream is
    open: hours, for thousands of connections. Once the view has returned, a feed uses
    neither (it holds its subscriber and the caller's `Actor`), so they go: about 6 KB per
    open stream (docs/performance.md, "Memory per connection").
    """
    for name in _REQUEST_CACHES:
        request.__dict__.pop(name, None)
    request.resolver_match = None
    request.META = {}
    setattr(response, _FORGET_HEADERS, True)
