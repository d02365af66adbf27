"""Stream opens run Django's middleware hooks on the event loop, with the same headers as before."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from asgiref import sync
from django.contrib.messages.storage.fallback import FallbackStorage
from django.contrib.sessions.backends.db import SessionStore
from django.core import signals
from django.dispatch import dispatcher
from django.http import HttpResponse
from django.test import RequestFactory
from django.utils import deprecation

from events import stream_middleware
from tests.security.asgi_client import call

pytestmark = [pytest.mark.urls("tests.events.stream_urls"), pytest.mark.django_db(transaction=True)]

#: What Django's middlewares add to every response (security, clickjacking, CSRF-free GET).
MIDDLEWARE_HEADERS = (
    "x-frame-options",
    "x-content-type-options",
    "referrer-policy",
    "cross-origin-opener-policy",
)


@pytest.fixture
def middleware_hand_offs(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Names of the middleware hooks handed to a thread (Django's path and ours)."""
    handed: list[str] = []

    def counting(func: Callable[..., Any], **kwargs: Any) -> Any:
        handed.append(getattr(func, "__qualname__", repr(func)))
        return sync.sync_to_async(func, **kwargs)

    monkeypatch.setattr(deprecation, "sync_to_async", counting)
    monkeypatch.setattr(stream_middleware, "sync_to_async", counting)
    return handed


def test_a_stream_open_hands_no_middleware_hook_to_a_thread(
    api_key: str, middleware_hand_offs: list[str]
) -> None:
    stream = call("GET", "/test/slow-stream", headers={"Authorization": f"Bearer {api_key}"})
    assert stream.status == 200
    assert middleware_hand_offs == []

    plain = call("GET", "/test/plain")
    assert plain.status == 200
    # Any other request still runs them as Django does: on the request's thread.
    assert any("SessionMiddleware.process_request" in name for name in middleware_hand_offs)
    for header in MIDDLEWARE_HEADERS:
        assert stream.headers.get(header) == plain.headers.get(header) is not None, header
    assert stream.headers["x-request-id"].startswith("req_")


def test_a_session_that_must_be_saved_is_saved_on_a_thread() -> None:
    middleware = stream_middleware.SessionMiddleware(lambda request: HttpResponse())
    request = RequestFactory().get("/")
    request.session = SessionStore()
    response = HttpResponse()
    assert not middleware.response_needs_thread(request, response)

    request.session["seen"] = True
    assert middleware.response_needs_thread(request, response)


def test_messages_read_or_added_are_stored_on_a_thread() -> None:
    middleware = stream_middleware.MessageMiddleware(lambda request: HttpResponse())
    request = RequestFactory().get("/")
    request.session = SessionStore()
    request._messages = FallbackStorage(request)  # type: ignore[attr-defined]
    response = HttpResponse()
    assert not middleware.response_needs_thread(request, response)

    request._messages.add(20, "saved")  # type: ignore[attr-defined]
    assert middleware.response_needs_thread(request, response)


def test_the_csrf_secret_in_the_session_is_read_on_a_thread(settings: Any) -> None:
    middleware = stream_middleware.CsrfViewMiddleware(lambda request: HttpResponse())
    request = RequestFactory().get("/")
    assert not middleware.request_needs_thread(request)
    settings.CSRF_USE_SESSIONS = True
    assert middleware.request_needs_thread(request)


def test_a_stream_open_sends_request_started_without_a_thread(
    api_key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    handed: list[str] = []
    started: list[dict[str, Any]] = []

    def counting(func: Callable[..., Any], **kwargs: Any) -> Any:
        handed.append(getattr(func, "__qualname__", repr(func)))
        return sync.sync_to_async(func, **kwargs)

    monkeypatch.setattr(dispatcher, "sync_to_async", counting)
    stream = call("GET", "/test/slow-stream", headers={"Authorization": f"Bearer {api_key}"})
    assert stream.status == 200
    assert handed == []

    # Another receiver (one that may do I/O) puts the signal back on Django's thread path.
    def receiver(sender: Any, scope: dict[str, Any], **kwargs: Any) -> None:
        started.append(scope)

    signals.request_started.connect(receiver)
    try:
        again = call("GET", "/test/slow-stream", headers={"Authorization": f"Bearer {api_key}"})
    finally:
        signals.request_started.disconnect(receiver)
    assert again.status == 200
    assert [scope["path"] for scope in started] == ["/test/slow-stream"]
    assert handed == ["Signal.asend.<locals>.sync_send"]
    assert call("GET", "/test/plain").status == 200  # any other request: Django's path
    assert handed == ["Signal.asend.<locals>.sync_send"] * 2
