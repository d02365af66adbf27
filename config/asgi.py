"""ASGI entry point: `daphne config.asgi:application` or `uvicorn config.asgi:application`."""

from __future__ import annotations

import gc
import os
from typing import Any

import django
from django.conf import settings
from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler
from django.core import signals
from django.core.handlers.asgi import ASGIHandler
from django.http import StreamingHttpResponse
from django.urls import Resolver404, resolve

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django.setup(set_prefix=False)

from api.body_limit import BodyLimitMiddleware  # noqa: E402 - needs the apps loaded
from events.sse import keep_only_what_the_stream_needs  # noqa: E402
from events.stream_middleware import STREAM_SCOPE_KEY, send_inline_for_streams  # noqa: E402
from events.streams import is_stream_view  # noqa: E402

# Each open stream keeps ~165 long-lived objects; with thousands of streams the default
# thresholds run full collections that stop the event loop for a second or more
# (docs/performance.md, "Event feeds"). Fewer, larger young collections avoid the stalls
# without exempting anything from collection.
gc.set_threshold(100_000, 50, 100)
# A stream open sends `request_started` without a thread round trip when its receivers have
# nothing to do (events/stream_middleware.py).
send_inline_for_streams(signals.request_started)


def is_stream_request(scope: dict[str, Any]) -> bool:
    """Whether an HTTP request routes to a view marked `@stream_view` (events/streams.py).

    The URL configuration is the one routing table: a view is marked where it is defined.
    """
    try:
        match = resolve(scope.get("path", "").removeprefix(scope.get("root_path", "")))
    except Resolver404:
        return False
    return is_stream_view(match.func)


class StreamingAwareASGIHandler(ASGIHandler):
    """Django's ASGI handler, minus the per-request thread for SSE streams.

    Django runs each request inside a ThreadSensitiveContext: the first synchronous
    step (a signal receiver, a session lookup) creates a thread that lives until the
    response ends. For a stream open for hours that is one idle OS thread per
    connection. Stream requests skip that context, so their short synchronous steps
    share one thread and the stream itself costs no thread at all.

    Once a stream's view has returned, the request's state and the response's headers
    are released too: the handler would otherwise hold them for the stream's lifetime.
    """

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and is_stream_request(scope):
            # Marked so the middlewares run their I/O-free hooks inline (events/stream_middleware.py).
            # In place: the server made this scope for this request alone, and a copy would be
            # held for as long as the stream is open (about 0.8 KB each).
            scope[STREAM_SCOPE_KEY] = True
            await self.handle(scope, receive, send)
            return
        await super().__call__(scope, receive, send)

    async def run_get_response(self, request: Any) -> Any:
        response = await super().run_get_response(request)
        if isinstance(response, StreamingHttpResponse) and request.scope.get(STREAM_SCOPE_KEY):
            keep_only_what_the_stream_needs(request, response)
        return response


django_application = StreamingAwareASGIHandler()
# Static files (admin, dashboard) are served by the app itself so the embedded mode
# needs nothing else; production can put a CDN or nginx in front. Body caps come first,
# before Django spools a request body to disk.
application: Any = BodyLimitMiddleware(ASGIStaticFilesHandler(django_application))

if settings.JOB_RUNNER == "embedded":
    from config.celery import app as celery_app
    from jobs.runner import start_embedded_scheduler

    start_embedded_scheduler(celery_app)
