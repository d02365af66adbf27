"""The stream edge: the one way an endpoint answers with a server-sent event stream.

`@stream_view(...)` marks a view as streaming (config/asgi.py reads the mark) and runs the
same steps, in the same order, for every stream: the method, the caller
(`stream_principal`: credential, rate limit, scope, and CSRF for a session's POST), the
view's own checks (the view returns a `StreamSource`, or a refusal), a stream slot, the
source's start, then the response: `retry:` first, `: heartbeat` while idle, the slot and
the source released in `finally`. Every refusal is a JSON error sent before any stream byte.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Coroutine, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from django.http import HttpRequest, HttpResponseBase, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions as drf_exceptions

from accounts.auth import Actor
from api.errors import _flatten_fields, domain_error_response, json_error
from core import metrics
from core.errors import DomainError
from events.encoding import HEARTBEAT
from events.hub import StreamSlot
from events.limits import stream_holder, too_many_streams_message
from events.sse import sse_frames, sse_response, stream_principal

logger = logging.getLogger(__name__)

#: The attribute config/asgi.py looks for on a resolved view.
STREAM_VIEW_MARK = "streams_events"


class StreamSource(Protocol):
    """What one stream sends, once the edge has let its caller in and given it a slot."""

    @property
    def kind(self) -> str:
        """The `dealstream_open_streams` label: org, deal, batch, job, valuation."""

    @property
    def response_headers(self) -> Mapping[str, str]:
        """Extra headers of the stream's response."""

    async def start(self, slot: StreamSlot) -> HttpResponseBase | None:
        """Take what the stream needs (a hub subscription, a resume plan).

        Returns a refusal to answer instead of a stream (204, 503), else None. `close`
        runs either way.
        """

    def frames(self) -> AsyncIterator[bytes]:
        """The encoded frames after `retry:`; the stream ends when they do."""

    async def close(self) -> None:
        """Free what `start` (or the view) took; runs exactly once, whatever happened."""


@dataclass(frozen=True)
class StreamRequest:
    """What a streaming view is handed: the request and its authenticated caller."""

    request: HttpRequest
    actor: Actor


StreamViewBody = Callable[..., Awaitable["StreamSource | HttpResponseBase"]]


def stream_view(
    *, methods: tuple[str, ...] = ("GET",), scope: str = "read"
) -> Callable[[StreamViewBody], Callable[..., Coroutine[Any, Any, HttpResponseBase]]]:
    """Turn `async def view(stream: StreamRequest, **url_kwargs)` into a streaming Django view.

    The view returns the `StreamSource` to send, or an `HttpResponse` refusal (or raises a
    `core.errors` error or a DRF `ValidationError`, answered as JSON errors).
    CSRF: API keys carry no ambient authority, so the view is exempt from the middleware's
    check; a session caller of an unsafe method gets the same check here instead.
    """

    def decorate(body: StreamViewBody) -> Callable[..., Coroutine[Any, Any, HttpResponseBase]]:
        @functools.wraps(body)
        async def view(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            if request.method not in methods:
                return method_not_allowed(methods)
            principal = await stream_principal(request, scope)
            if not isinstance(principal, Actor):
                return principal
            try:
                source = await body(StreamRequest(request, principal), *args, **kwargs)
            except DomainError as exc:
                return domain_error_response(exc)
            except drf_exceptions.ValidationError as exc:
                fields = _flatten_fields(exc.detail)
                return json_error(400, "invalid_request", "The request has invalid fields.", fields)
            if isinstance(source, HttpResponseBase):
                return source
            return await open_stream(source, principal)

        exempt = csrf_exempt(view)
        setattr(exempt, STREAM_VIEW_MARK, True)
        return exempt

    return decorate


def is_stream_view(view: object) -> bool:
    """Whether a resolved view answers with a long-lived stream (`@stream_view`)."""
    return bool(getattr(view, STREAM_VIEW_MARK, False))


async def open_stream(source: StreamSource, actor: Actor) -> HttpResponseBase:
    """Take a stream slot, start `source` and answer with its stream (or a JSON refusal).

    From here on everything is released exactly once: by this function when the stream
    never starts, by the stream's own `finally` once it has.
    """
    holder = stream_holder(actor.api_key.pk if actor.api_key else None, actor.user.pk if actor.user else None)
    slot = StreamSlot(holder)
    started = False

    async def release() -> None:
        if started:
            metrics.OPEN_STREAMS.labels(source.kind).dec()
        try:
            await source.close()
        finally:
            try:
                await slot.release()
            except Exception:
                logger.warning("Could not release the stream slot of %s", slot.stream_id, exc_info=True)

    try:
        if not await slot.acquire():
            assert holder is not None
            await release()
            return json_error(429, "too_many_streams", too_many_streams_message(holder))
        refusal = await source.start(slot)
        if refusal is not None:
            await release()
            return refusal
        metrics.OPEN_STREAMS.labels(source.kind).inc()
        started = True
        body = sse_frames(source.frames(), on_close=release)
        # Run the body to its first frame (the `retry:` line) now: once started, its
        # `finally` is guaranteed to run even if the client leaves before the body is sent
        # (asyncio closes an abandoned started generator, never an unstarted one).
        first = await body.__anext__()
    except BaseException:
        if not started:
            await release()
        raise
    response = sse_response(body, first=first)
    for name, value in source.response_headers.items():
        response[name] = value
    return response


class GeneratorSource:
    """A stream that narrates one piece of work: `events` yields encoded frames until it is done.

    While `events` is waiting (a page fetch), the edge sends `: heartbeat` every
    `heartbeat_seconds` (or the frame `heartbeat` makes, for a protocol whose contract names its
    own heartbeat event); `on_close` runs after `events` is closed, whatever happened.
    """

    def __init__(
        self,
        kind: str,
        events: AsyncGenerator[bytes, None],
        *,
        heartbeat_seconds: float,
        heartbeat: Callable[[], bytes] | None = None,
        on_close: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.kind = kind
        self.events = events
        self.response_headers: dict[str, str] = {}
        self.heartbeat_seconds = heartbeat_seconds
        self.heartbeat = heartbeat
        self.on_close = on_close

    async def start(self, slot: StreamSlot) -> HttpResponseBase | None:
        return None

    def frames(self) -> AsyncIterator[bytes]:
        return with_heartbeats(self.events, self.heartbeat_seconds, self.heartbeat)

    async def close(self) -> None:
        try:
            await self.events.aclose()
        finally:
            if self.on_close is not None:
                await self.on_close()


async def with_heartbeats(
    events: AsyncGenerator[bytes, None], interval: float, heartbeat: Callable[[], bytes] | None = None
) -> AsyncIterator[bytes]:
    """`events`' frames, with a `: heartbeat` (or `heartbeat()`) whenever it has been silent for `interval` seconds.

    Each step of `events` runs as a task the stream waits on with a timeout; a stream that
    ends (the client left) cancels the step in progress, which ends `events` where it waits.
    """
    pending: asyncio.Future[bytes] | None = None
    try:
        while True:
            if pending is None:
                pending = asyncio.ensure_future(events.__anext__())
            done, _ = await asyncio.wait({pending}, timeout=interval)
            if not done:
                yield HEARTBEAT if heartbeat is None else heartbeat()
                continue
            step, pending = pending, None
            try:
                frame = step.result()
            except StopAsyncIteration:
                return
            yield frame
    finally:
        if pending is not None and not pending.done():
            pending.cancel()
            with contextlib.suppress(BaseException):
                await pending


def method_not_allowed(methods: tuple[str, ...]) -> JsonResponse:
    allowed = ", ".join(methods)
    response = json_error(405, "method_not_allowed", f"Use {allowed} on this endpoint.")
    response["Allow"] = allowed
    return response
