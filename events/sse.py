"""Building SSE responses: headers, the opening `retry:` and stream bookkeeping."""

from __future__ import annotations

import asyncio
import contextvars
import random
from collections.abc import AsyncIterator

from django.conf import settings
from django.http import HttpRequest, JsonResponse, StreamingHttpResponse

from accounts.auth import Actor, AuthError, aresolve_stream_actor
from api.errors import RATE_LIMITED_MESSAGE, json_error
from api.ratelimit import RateLimitUsage, consume, principal_of
from events.encoding import SSE_CONTENT_TYPE, SSE_HEADERS, encode_retry
from events.hub import get_hub
from events.tickets import TICKET_PARAM, aredeem_ticket

# Even the luckiest client waits this long after its stream was ended by a stopping process:
# the process is closing its socket, and a load balancer needs a moment to route elsewhere.
SHUTDOWN_RETRY_MIN_MILLISECONDS = 500


async def authenticate_stream(request: HttpRequest, scope: str = "read") -> Actor | JsonResponse:
    """The caller of a streaming endpoint, or the JSON error to answer before any stream byte.

    Accepts a key in the Authorization header, `?token=`/`?api_key=`, or the session;
    counts the request against the caller's rate limit (its client address when the
    credential is refused) and checks the scope.
    """
    try:
        # A stream ticket (events/tickets.py) stands for the key it was issued to.
        ticketed = TICKET_PARAM in request.GET
        actor = await (aredeem_ticket(request) if ticketed else aresolve_stream_actor(request))
    except AuthError as exc:
        return await _refuse(request, json_error(getattr(exc, "status", 401), exc.code, exc.message))
    if actor is None:
        return await _refuse(
            request,
            json_error(
                401, "unauthenticated", "Send an API key (Authorization: Bearer, or ?token=) or log in."
            ),
        )
    usage = await _count_request(request, *principal_of(actor.api_key, actor.user, request))
    if usage.limited:
        return _rate_limited()
    if not actor.can(scope):
        return json_error(403, "insufficient_scope", f"This caller lacks the '{scope}' permission.")
    return actor


async def _refuse(request: HttpRequest, refusal: JsonResponse) -> JsonResponse:
    usage = await _count_request(request, *principal_of(None, None, request))
    return _rate_limited() if usage.limited else refusal


def _rate_limited() -> JsonResponse:
    return json_error(429, "rate_limited", RATE_LIMITED_MESSAGE)


async def _count_request(request: HttpRequest, identity: str, limit: int) -> RateLimitUsage:
    """Count the stream's request against `identity`'s rate limit.

    Django keeps one cache client per async context. Counted in the stream's own context,
    that client (and its Redis connection) would live as long as the stream: 10,000 open
    streams would hold 10,000 Redis connections, Redis's default `maxclients`. A throwaway
    copy of the context lets the client, and its connection, go as soon as the count is done.
    """
    context = contextvars.copy_context()
    return await asyncio.get_running_loop().run_in_executor(
        None, context.run, consume, request, identity, limit
    )


async def _with_retry(stream: AsyncIterator[bytes], response: StreamingHttpResponse) -> AsyncIterator[bytes]:
    # Django's handler sends the status line and headers before it asks for the first
    # chunk, so from here on the response's headers are only memory.
    if getattr(response, _FORGET_HEADERS, False):
        for header in list(response.headers):
            del response[header]
    yield encode_retry(settings.SSE_RETRY_MILLISECONDS)
    async for chunk in stream:
        yield chunk
    if get_hub().draining:
        yield encode_retry(shutdown_retry_milliseconds())


def shutdown_retry_milliseconds() -> int:
    """The reconnection delay given to a stream ended by a stopping process.

    Random across streams, so thousands of clients do not all reconnect in the same
    instant; the next stream's opening `retry:` restores the usual delay.
    """
    low = min(SHUTDOWN_RETRY_MIN_MILLISECONDS, settings.SSE_SHUTDOWN_RETRY_MAX_MILLISECONDS)
    return random.randint(low, settings.SSE_SHUTDOWN_RETRY_MAX_MILLISECONDS)


def sse_response(stream: AsyncIterator[bytes]) -> StreamingHttpResponse:
    """Wrap an async iterator of encoded SSE bytes; it opens with `retry:` and is never buffered.

    Cleanup belongs in the iterator's `finally`: Django cancels it when the client goes away.
    """
    response = StreamingHttpResponse(content_type=SSE_CONTENT_TYPE)
    response.streaming_content = _with_retry(stream, response)
    for name, value in SSE_HEADERS.items():
        response[name] = value
    return response


_FORGET_HEADERS = "_dealstream_forget_headers_once_sent"
# What Django built lazily from META (recomputed if asked again) and what the middleware
# attached (user, session): all read while the view ran, none afterwards.
_REQUEST_CACHES = ("GET", "COOKIES", "headers", "user", "auth", "session")


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
