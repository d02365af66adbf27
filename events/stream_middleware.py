"""Django's stock middlewares, with their hooks run on the event loop for stream requests.

Under ASGI, Django runs every `process_request`/`process_view`/`process_response` of a
`MiddlewareMixin` middleware through `sync_to_async`: a hand-off to the request's thread
and back, 13 per request with the stack in settings.MIDDLEWARE. For a reconnect storm that
is most of what an open costs (docs/performance.md, "Reconnect storm"). These subclasses
keep every hook and its order; for a request to a `@stream_view` (config/asgi.py marks its
scope) they call the hooks directly when the hook does no I/O (headers, cookies, lazy
session and user objects), and still hand off when it would touch the database (a session
to save, messages to store). Every other request goes through Django's own path unchanged.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.auth import middleware as auth_middleware
from django.contrib.messages import middleware as messages_middleware
from django.contrib.sessions import middleware as sessions_middleware
from django.db import close_old_connections, connections, reset_queries
from django.dispatch import Signal
from django.http import HttpRequest, HttpResponseBase
from django.middleware import clickjacking, common, csrf, security

#: Set in a stream request's ASGI scope by config/asgi.py.
STREAM_SCOPE_KEY = "dealstream.stream_view"


def is_stream_request(request: HttpRequest) -> bool:
    scope = getattr(request, "scope", None)
    return bool(scope and scope.get(STREAM_SCOPE_KEY))


class _InlineForStreams:
    """Mixed into a `MiddlewareMixin` subclass: its hooks run inline on stream requests."""

    get_response: Callable[[HttpRequest], Any]

    def request_needs_thread(self, request: HttpRequest) -> bool:
        """Whether `process_request` would do I/O for this request (it then runs on a thread)."""
        return False

    def response_needs_thread(self, request: HttpRequest, response: HttpResponseBase) -> bool:
        """Whether `process_response` would do I/O for this request (it then runs on a thread)."""
        return False

    async def __acall__(self, request: HttpRequest) -> HttpResponseBase:
        if not is_stream_request(request):
            return await super().__acall__(request)  # type: ignore[misc]
        response = None
        process_request = getattr(self, "process_request", None)
        if process_request is not None:
            if self.request_needs_thread(request):
                response = await sync_to_async(process_request, thread_sensitive=True)(request)
            else:
                response = process_request(request)
        response = response or await self.get_response(request)
        process_response = getattr(self, "process_response", None)
        if process_response is not None:
            if self.response_needs_thread(request, response):
                response = await sync_to_async(process_response, thread_sensitive=True)(request, response)
            else:
                response = process_response(request, response)
        return response


class SecurityMiddleware(_InlineForStreams, security.SecurityMiddleware):
    """Headers and the HTTPS redirect: no I/O."""


class SessionMiddleware(_InlineForStreams, sessions_middleware.SessionMiddleware):
    """The session object is lazy; only saving it touches the store."""

    def response_needs_thread(self, request: HttpRequest, response: HttpResponseBase) -> bool:
        session = getattr(request, "session", None)
        return session is not None and (session.modified or settings.SESSION_SAVE_EVERY_REQUEST)


class CommonMiddleware(_InlineForStreams, common.CommonMiddleware):
    """User-agent and URL checks: no I/O."""


class CsrfViewMiddleware(_InlineForStreams, csrf.CsrfViewMiddleware):
    """The CSRF secret lives in a cookie (no I/O) unless `CSRF_USE_SESSIONS` puts it in the session."""

    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        super().__init__(get_response)
        if self.async_mode:  # type: ignore[attr-defined]
            # Django adapts `process_view` once, at start-up: a coroutine function is awaited
            # as is, anything else is handed to a thread on every request.
            self.process_view = self._process_view_async  # type: ignore[method-assign,assignment]

    def request_needs_thread(self, request: HttpRequest) -> bool:
        return bool(settings.CSRF_USE_SESSIONS)

    async def _process_view_async(
        self, request: HttpRequest, callback: Any, callback_args: Any, callback_kwargs: Any
    ) -> HttpResponseBase | None:
        check = super().process_view
        if is_stream_request(request) and not settings.CSRF_USE_SESSIONS:
            return check(request, callback, callback_args, callback_kwargs)
        return await sync_to_async(check, thread_sensitive=True)(
            request, callback, callback_args, callback_kwargs
        )


class AuthenticationMiddleware(_InlineForStreams, auth_middleware.AuthenticationMiddleware):
    """`request.user` is lazy: the session is read only if the view asks who is logged in."""


class MessageMiddleware(_InlineForStreams, messages_middleware.MessageMiddleware):
    """Messages are stored only when the view read or added some."""

    def response_needs_thread(self, request: HttpRequest, response: HttpResponseBase) -> bool:
        storage = getattr(request, "_messages", None)
        return storage is not None and bool(
            getattr(storage, "used", True) or getattr(storage, "added_new", True)
        )


class XFrameOptionsMiddleware(_InlineForStreams, clickjacking.XFrameOptionsMiddleware):
    """One header: no I/O."""


#: The receivers Django itself connects to `request_started`: each acts only on the database
#: connections already open in the current context.
_REQUEST_STARTED_RECEIVERS = frozenset({reset_queries, close_old_connections})


def send_inline_for_streams(signal: Signal) -> None:
    """Let `signal.asend` run its receivers on the event loop for a stream request, when that is free.

    Django's ASGI handler sends `request_started` with `asend`, which hands every synchronous
    receiver to a thread: for a reconnect storm, a thread round trip per open, and about a
    quarter of an open's CPU (docs/performance.md, "Reconnect storm"). When the only
    receivers are Django's own (`reset_queries`, `close_old_connections`) and the request's
    context holds no open database connection (the ORM cannot run on the loop, so a stream
    request's normally holds none), they have nothing to do and no I/O to do it with: they run
    inline. Any other receiver, any open connection, any other request: Django's own path.
    """
    thread_send = signal.asend
    if getattr(thread_send, "inline_for_streams", False):
        return  # already wrapped

    async def asend(sender: Any, **named: Any) -> list[tuple[Any, Any]]:
        scope = named.get("scope")
        if scope is not None and scope.get(STREAM_SCOPE_KEY) and _free_inline(signal, sender):
            return signal.send(sender, **named)
        return await thread_send(sender, **named)

    asend.inline_for_streams = True  # type: ignore[attr-defined]
    signal.asend = asend  # type: ignore[method-assign]


def _free_inline(signal: Signal, sender: Any) -> bool:
    sync_receivers, async_receivers = signal._live_receivers(sender)
    return (
        not async_receivers
        and set(sync_receivers) <= _REQUEST_STARTED_RECEIVERS
        and not connections.all(initialized_only=True)
    )
