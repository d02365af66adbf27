"""Headers every response carries: request id, scorer version, environment, rate-limit state,
and the browser security policy (Content-Security-Policy, HSTS in production)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Mapping
from contextvars import Token
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.conf import settings
from django.http import HttpRequest, HttpResponseBase

from core.context import bind_principal, request_id_var

_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")


def request_id_from(headers: Mapping[str, str]) -> str:
    """The caller's id when it is sane, otherwise a fresh one (never echo arbitrary bytes).

    `headers` is looked up by the lower-case names ASGI uses (Django's are case-insensitive).
    """
    for header in ("x-request-id", "x-correlation-id"):
        value = headers.get(header, "")
        if _VALID_REQUEST_ID.match(value):
            return value
    return "req_" + uuid.uuid4().hex


def _begin(request: HttpRequest) -> Token[str | None]:
    request_id = request_id_from(request.headers)
    request.request_id = request_id  # type: ignore[attr-defined]
    bind_principal(org=None, key_prefix=None)
    return request_id_var.set(request_id)


def _finish(request: HttpRequest, response: HttpResponseBase) -> HttpResponseBase:
    request_id: str = request.request_id  # type: ignore[attr-defined]
    response["X-Request-ID"] = request_id
    if "X-Correlation-ID" in request.headers:
        response["X-Correlation-ID"] = request_id
    response["X-Scorer-Version"] = settings.SCORER_VERSION
    response["X-App-Env"] = settings.APP_ENV
    if settings.CONTENT_SECURITY_POLICY and "Content-Security-Policy" not in response:
        response["Content-Security-Policy"] = settings.CONTENT_SECURITY_POLICY
    if settings.HSTS_SECONDS:
        # Sent whatever the scheme: TLS usually ends at a proxy in front of the app, and
        # browsers ignore the header on plain HTTP anyway.
        response["Strict-Transport-Security"] = f"max-age={settings.HSTS_SECONDS}; includeSubDomains"
    usage = getattr(request, "ratelimit_usage", None)
    if usage is not None:
        for name, value in usage.headers().items():
            response[name] = value
    return response


def request_context_middleware(
    get_response: Callable[[HttpRequest], Any],
) -> Callable[[HttpRequest], Any]:
    """Sync-and-async middleware: streams must never be pushed onto a thread by the stack."""
    if iscoroutinefunction(get_response):

        async def middleware(request: HttpRequest) -> HttpResponseBase:
            # Each ASGI request runs in its own task, so its context dies with it; keeping
            # the id set until then labels the server's access-log line too.
            _begin(request)
            return _finish(request, await get_response(request))

        markcoroutinefunction(middleware)
        return middleware

    def sync_middleware(request: HttpRequest) -> HttpResponseBase:
        # A WSGI thread serves many requests: never let one id label the next one's logs.
        token = _begin(request)
        try:
            return _finish(request, get_response(request))
        finally:
            request_id_var.reset(token)

    return sync_middleware


request_context_middleware.sync_capable = True  # type: ignore[attr-defined]
request_context_middleware.async_capable = True  # type: ignore[attr-defined]
