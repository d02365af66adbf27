"""The stream edge: one heartbeat for every stream, routing by the view's mark, release on every path."""

from __future__ import annotations

from typing import Any

import pytest

from config.asgi import is_stream_request
from core import metrics
from events.encoding import HEARTBEAT
from tests.events import stream_urls
from tests.security.asgi_client import call

pytestmark = [pytest.mark.urls("tests.events.stream_urls"), pytest.mark.django_db(transaction=True)]

STREAM_PATHS = [
    "/api/v1/events",
    "/api/v1/events/deals/7",
    "/api/v1/events/batches/bat_1",
    "/api/v1/jobs/job_1/stream",
    "/api/v1/value-decision/stream",
    "/api/v1/value-decision/stream-get",
]


def open_streams(kind: str) -> float:
    value: float = metrics.OPEN_STREAMS.labels(kind)._value.get()
    return value


def test_it_routes_a_newly_marked_view_as_a_stream() -> None:
    assert is_stream_request({"type": "http", "path": "/test/slow-stream"})
    assert not is_stream_request({"type": "http", "path": "/test/plain"})


def test_it_routes_the_product_streams_and_nothing_else() -> None:
    for path in STREAM_PATHS:
        assert is_stream_request({"type": "http", "path": path}), path
    for path in ["/api/v1/events/log", "/api/v1/deals", "/healthz", "/no/such/page", "/api/v1/events/"]:
        assert not is_stream_request({"type": "http", "path": path}), path
    # Behind a path prefix the route is what follows it.
    assert is_stream_request({"type": "http", "path": "/app/api/v1/events", "root_path": "/app"})


def test_a_generator_stream_opens_with_retry_sends_heartbeats_while_waiting_and_closes(api_key: str) -> None:
    stream_urls.closed.clear()
    before = open_streams("test")

    response = call(
        "GET", "/test/slow-stream", query="name=edge", headers={"Authorization": f"Bearer {api_key}"}
    )

    assert response.status == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    assert response.body.startswith(b"retry: 3000\n\n" + HEARTBEAT)
    frames = [frame + b"\n\n" for frame in response.body.split(b"\n\n") if frame]
    events = [frame for frame in frames if frame.startswith(b"event:")]
    assert len(events) == 2
    heartbeats = [frame for frame in frames if frame.startswith(b":")]
    assert len(heartbeats) >= 2
    assert set(heartbeats) == {HEARTBEAT}
    assert stream_urls.closed == ["edge", "edge:on_close"]
    assert open_streams("test") == before


def test_a_feed_and_a_generator_stream_send_the_same_heartbeat(api_key: str, settings: Any) -> None:
    settings.SSE_HEARTBEAT_SECONDS = 0.2
    headers = {"Authorization": f"Bearer {api_key}"}

    feed = call("GET", "/api/v1/events", headers=headers, until=lambda body: HEARTBEAT in body)
    generated = call("GET", "/test/slow-stream", headers=headers)

    assert feed.status == generated.status == 200
    assert feed.body == b"retry: 3000\n\n" + HEARTBEAT
    assert generated.body.startswith(b"retry: 3000\n\n" + HEARTBEAT)
    assert b"event: heartbeat" not in feed.body + generated.body


def test_a_refused_stream_frees_what_its_view_took(api_key: str, settings: Any) -> None:
    settings.SSE_MAX_STREAMS_PER_KEY = 0
    stream_urls.closed.clear()
    before = open_streams("test")

    response = call(
        "GET", "/test/slow-stream", query="name=refused", headers={"Authorization": f"Bearer {api_key}"}
    )

    assert response.status == 429
    assert response.json()["error"]["code"] == "too_many_streams"
    # The generator never ran; what the view took is given back all the same.
    assert stream_urls.closed == ["refused:on_close"]
    assert open_streams("test") == before


def test_a_stream_answers_other_methods_with_a_json_405(api_key: str) -> None:
    response = call("POST", "/api/v1/events", headers={"Authorization": f"Bearer {api_key}"})

    assert response.status == 405
    assert response.headers["allow"] == "GET"
    assert response.json()["error"]["code"] == "method_not_allowed"


def test_a_stream_refuses_an_unknown_caller_before_its_view_runs() -> None:
    stream_urls.closed.clear()

    response = call("GET", "/test/slow-stream", query="name=stranger")

    assert response.status == 401
    assert response.json()["error"]["code"] == "unauthenticated"
    assert stream_urls.closed == []
