"""What an open stream keeps: the ASGI handler releases the request and, once sent, the headers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from django.test import RequestFactory
from django.urls import resolve

from config.asgi import django_application
from events.sse import keep_only_what_the_stream_needs, sse_response


async def two_frames() -> AsyncIterator[bytes]:
    yield b": one\n\n"
    yield b": two\n\n"


def test_the_request_state_goes_and_the_headers_go_once_streaming_starts() -> None:
    request = RequestFactory().get("/api/v1/events?last_event_id=5", HTTP_AUTHORIZATION="Bearer x")
    request.resolver_match = resolve("/api/v1/events")
    assert request.GET["last_event_id"] == "5"  # the caches a view builds
    assert request.headers["Authorization"] == "Bearer x"
    response = sse_response(two_frames())

    keep_only_what_the_stream_needs(request, response)

    assert request.META == {}
    assert request.resolver_match is None
    assert "GET" not in request.__dict__
    assert "headers" not in request.__dict__
    assert response["Content-Type"].startswith("text/event-stream")  # still there to be sent

    async def first_chunk() -> bytes:
        chunk: bytes = await response.streaming_content.__anext__()
        return chunk

    assert asyncio.run(first_chunk()).startswith(b"retry: ")
    assert list(response.headers) == []


def test_a_response_not_served_by_the_handler_keeps_its_headers() -> None:
    response = sse_response(two_frames())

    async def read_all() -> list[bytes]:
        return [chunk async for chunk in response.streaming_content]  # type: ignore[union-attr]

    assert len(asyncio.run(read_all())) == 3
    assert response["Content-Type"].startswith("text/event-stream")


@pytest.mark.django_db(transaction=True)
def test_the_handler_sends_every_header_before_it_forgets_them(api_key: str) -> None:
    """Driven through the real ASGI application, as a server would."""
    sent: list[dict[str, Any]] = []

    async def exchange() -> None:
        received = asyncio.Queue[dict[str, Any]]()
        await received.put({"type": "http.request", "body": b"", "more_body": False})

        async def receive() -> dict[str, Any]:
            return await received.get()

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)
            if message["type"] == "http.response.body" and message.get("body"):
                await received.put({"type": "http.disconnect"})  # the client leaves after one chunk

        scope = {
            "type": "http",
            "http_version": "1.1",
            "method": "GET",
            "path": "/api/v1/events",
            "query_string": b"",
            "headers": [(b"host", b"testserver"), (b"authorization", f"Bearer {api_key}".encode())],
            "client": ("127.0.0.1", 5000),
            "server": ("testserver", 80),
        }
        await asyncio.wait_for(django_application(scope, receive, send), 10)

    asyncio.run(exchange())
    start = sent[0]
    assert (start["type"], start["status"]) == ("http.response.start", 200)
    headers = dict(start["headers"])
    assert headers[b"Content-Type"].startswith(b"text/event-stream")
    assert headers[b"Cache-Control"].startswith(b"no-cache")
    assert headers[b"X-Request-ID"].startswith(b"req_")
    assert headers[b"X-Scorer-Version"]
    assert b"X-RateLimit-Remaining" in headers
    assert sent[1]["body"].startswith(b"retry: ")
