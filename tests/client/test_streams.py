"""Streams against a local SSE server: reconnection, resume, watchdog, `retry:`, 204, reset."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest
from dealstream import AsyncDealstream, AuthenticationError, Dealstream, Event, NotFoundError, StreamError

pytestmark = pytest.mark.timeout(30)

KEY = "dsk_test_streams"


def client_for(server, **options) -> Dealstream:
    options.setdefault("heartbeat_interval", 0.1)
    return Dealstream(KEY, server.url, **options)


def test_it_reads_a_stream_with_crlf_line_endings(serve):
    def script(ex, n):
        ex.start_stream()
        ex.send('id: 1\r\nevent: status\r\ndata: {"job_id": "job_1", "status": "started"}\r\n\r\n')
        ex.send('id: 2\r\nevent: completed\r\ndata: {"job_id": "job_1",\r')  # CR, then the LF next chunk
        ex.send('\ndata: "status": "completed"}\r\n\r\n')
        ex.finish()

    server = serve(script)
    with client_for(server) as client, client.stream.job("job_1") as stream:
        events = list(stream)
    assert [(e.id, e.type) for e in events] == [("1", "status"), ("2", "completed")]
    assert events[1].raw == '{"job_id": "job_1",\n"status": "completed"}'
    assert events[1].data == {"job_id": "job_1", "status": "completed"}
    assert len(server.requests) == 1  # a clean close after the terminal event ends the stream
    request = server.requests[0]
    assert request.path == "/api/v1/jobs/job_1/stream"
    assert request.headers["accept"] == "text/event-stream"
    assert request.headers["authorization"] == f"Bearer {KEY}"
    assert "last-event-id" not in request.headers


def test_the_watchdog_reconnects_a_silent_connection(serve):
    def script(ex, n):
        ex.start_stream()
        ex.event("deal.created", {"deal_id": n}, id=10 + n)
        ex.idle(10)  # then nothing at all, not even a heartbeat

    server = serve(script)
    started = time.monotonic()
    with client_for(server, heartbeat_interval=0.05) as client, client.stream.org() as stream:
        events = [event for _, event in zip(range(3), stream, strict=False)]
    assert [e.id for e in events] == ["10", "11", "12"]
    assert [r.headers.get("last-event-id") for r in server.requests] == [None, "10", "11"]
    assert time.monotonic() - started < 5


def test_heartbeat_comments_keep_a_connection_alive(serve):
    def script(ex, n):
        ex.start_stream()
        for _ in range(20):
            ex.send(": heartbeat\n\n")
            ex.idle(0.05)
        ex.event("deal.created", {"deal_id": 1}, id=1)
        ex.idle(10)

    server = serve(script)
    # The watchdog fires after 0.6 s of silence; comments every 0.05 s for a second hold it off.
    with client_for(server, heartbeat_interval=0.2) as client, client.stream.org() as stream:
        event = next(iter(stream))
    assert event.id == "1"
    assert len(server.requests) == 1  # a second without events, yet never presumed dead


def test_it_waits_what_the_server_asks_with_retry(serve):
    def script(ex, n):
        ex.start_stream(retry_ms=1000 if n == 0 else 10)
        ex.event("deal.created", {"deal_id": n}, id=n + 1)
        ex.finish()  # the org feed never ends: a closed connection is reconnected

    server = serve(script)
    with client_for(server) as client, client.stream.org() as stream:
        events = [event for _, event in zip(range(3), stream, strict=False)]
    assert [e.id for e in events] == ["1", "2", "3"]
    first, second, third = server.requests
    assert 1.0 <= second.at - first.at < 2.5  # 1 s, plus up to a quarter of jitter
    assert third.at - second.at < 0.5
    assert third.headers["last-event-id"] == "2"


def test_a_204_ends_the_stream(serve):
    server = serve(lambda ex, n: ex.empty(204))
    with client_for(server) as client, client.stream.batch("batch_1") as stream:
        assert list(stream) == []
    assert len(server.requests) == 1


def test_a_204_on_reconnection_ends_the_stream(serve):
    def script(ex, n):
        if n == 0:
            ex.start_stream()
            ex.event("status", {"status": "started"}, id=1)
            ex.event("completed", {"status": "completed", "results": {}}, id=2)
            ex.abort()  # broken before the server could send `usage` or close cleanly
        else:
            ex.empty(204)

    server = serve(script)
    with client_for(server) as client, client.stream.job("job_1") as stream:
        assert [e.type for e in stream] == ["status", "completed"]
    assert server.requests[1].headers["last-event-id"] == "2"


def test_an_abrupt_close_mid_event_resumes_after_the_last_whole_event(serve):
    def script(ex, n):
        ex.start_stream()
        if n == 0:
            ex.event("progress", {"progress": 0.3}, id=1)
            ex.send('id: 2\nevent: progress\ndata: {"progress": 0.')  # cut mid-event
            ex.abort()
        else:
            ex.event("progress", {"progress": 0.6}, id=2)
            ex.event("failed", {"error": "boom"}, id=3)
            ex.finish()

    server = serve(script)
    with client_for(server) as client, client.stream.job("job_1") as stream:
        events = list(stream)
    assert [(e.id, e.data.get("progress")) for e in events] == [("1", 0.3), ("2", 0.6), ("3", None)]
    assert server.requests[1].headers["last-event-id"] == "1"


def test_stream_reset_is_surfaced_as_an_event(serve):
    def script(ex, n):
        ex.start_stream()
        ex.event(
            "stream.reset", {"type": "stream.reset", "reason": "last_event_id_too_old", "earliest_id": 50}
        )
        ex.event("batch.document_processed", {"progress": "1/1"}, id=50)
        ex.event("batch.completed", {"total": 1}, id=51)
        ex.idle(10)  # the client ends at batch.completed without waiting for the close

    server = serve(script)
    with client_for(server) as client, client.stream.batch("batch_1", last_event_id=3) as stream:
        events = list(stream)
    assert [(e.type, e.id) for e in events] == [
        ("stream.reset", None),
        ("batch.document_processed", "50"),
        ("batch.completed", "51"),
    ]
    assert events[0].data["earliest_id"] == 50
    assert server.requests[0].headers["last-event-id"] == "3"


def test_a_billable_job_feed_ends_after_usage(serve):
    def script(ex, n):
        ex.start_stream()
        ex.event("completed", {"status": "completed"}, id=1)
        ex.event("usage", {"monthly_used": 1}, id=2)
        ex.idle(10)

    server = serve(script)
    started = time.monotonic()
    with client_for(server) as client, client.stream.job("job_1") as stream:
        assert [e.type for e in stream] == ["completed", "usage"]
    assert time.monotonic() - started < 2


def test_an_error_status_on_connect_raises_the_typed_error(serve):
    server = serve(lambda ex, n: ex.error(404, "not_found", "No such deal."))
    with (
        client_for(server) as client,
        pytest.raises(NotFoundError) as caught,
        client.stream.deal(9) as stream,
    ):
        list(stream)
    assert (caught.value.status, caught.value.code, caught.value.request_id) == (404, "not_found", "req_srv")
    assert len(server.requests) == 1  # not retried


def test_a_401_on_reconnection_is_raised_not_retried(serve):
    def script(ex, n):
        if n == 0:
            ex.start_stream()
            ex.event("deal.created", {"deal_id": 1}, id=1)
            ex.abort()
        else:
            ex.error(401, "key_revoked", "This API key was revoked.")

    server = serve(script)
    received: list[Event] = []
    with client_for(server) as client, client.stream.org() as stream, pytest.raises(AuthenticationError):
        received.extend(stream)
    assert [e.id for e in received] == ["1"]
    assert len(server.requests) == 2


def test_a_429_on_connect_is_retried_after_retry_after(serve, no_sleep):
    def script(ex, n):
        if n == 0:
            ex.error(429, "too_many_streams", headers={"Retry-After": "7"})
        else:
            ex.start_stream()
            ex.event("deal.created", {}, id=1)
            ex.finish()

    server = serve(script)
    with client_for(server) as client, client.stream.org() as stream:
        assert next(iter(stream)).id == "1"
    assert no_sleep[0] >= 7


def test_a_5xx_or_connection_failure_is_retried(serve, no_sleep):
    def script(ex, n):
        if n == 0:
            ex.raw(502, b"<html>bad gateway</html>", "text/html")
        elif n == 1:
            ex.abort()  # no answer at all
        else:
            ex.start_stream()
            ex.event("deal.created", {}, id=1)
            ex.finish()

    server = serve(script)
    with client_for(server) as client, client.stream.org() as stream:
        assert next(iter(stream)).id == "1"
    assert len(server.requests) == 3
    assert len(no_sleep) == 2


def test_breaking_out_early_closes_the_connection(serve):
    def script(ex, n):
        ex.start_stream()
        ex.event("deal.created", {}, id=1)
        ex.idle(10)

    server = serve(script)
    with client_for(server, heartbeat_interval=5) as client:
        stream = client.stream.org()
        with stream:
            for _event in stream:
                break
        assert stream.last_event_id == "1"
        assert list(stream) == []  # closed: nothing more, no reconnection
    assert len(server.requests) == 1


def test_another_thread_can_close_a_stream_blocked_in_a_read(serve):
    def script(ex, n):
        ex.start_stream()
        ex.event("deal.created", {}, id=1)
        ex.idle(30)  # silent: the reader blocks in recv()

    server = serve(script)
    received = []
    ended = threading.Event()
    with client_for(server, heartbeat_interval=20) as client:
        stream = client.stream.org()

        def read() -> None:
            for event in stream:
                received.append(event.id)
            ended.set()

        reader = threading.Thread(target=read)
        reader.start()
        deadline = time.monotonic() + 5
        while not received:
            assert time.monotonic() < deadline, "the first event never arrived"
            time.sleep(0.02)
        closed_at = time.monotonic()
        stream.close()
        assert ended.wait(5), "the reading thread's loop did not end"
        assert time.monotonic() - closed_at < 2  # woken at once, not by a 60 s watchdog
        reader.join(5)
    assert received == ["1"]
    assert len(server.requests) == 1  # closed, not reconnected


def test_a_close_during_the_reconnection_wait_ends_the_stream(serve):
    def script(ex, n):
        ex.start_stream(retry_ms=30_000)  # the server asks for a long wait before reconnecting
        ex.event("deal.created", {}, id=1)
        ex.finish()

    server = serve(script)
    ended = threading.Event()
    with client_for(server, heartbeat_interval=5) as client:
        stream = client.stream.org()
        events = iter(stream)
        assert next(events).id == "1"

        def drain() -> None:
            for _event in events:
                pass
            ended.set()

        reader = threading.Thread(target=drain)
        reader.start()
        time.sleep(0.3)  # the reader is now waiting out the retry delay
        stream.close()
        assert ended.wait(5), "the wait before reconnecting was not cut short"
        reader.join(5)
    assert len(server.requests) == 1


def test_valuate_stream_posts_the_product_and_ends_at_complete(serve):
    def script(ex, n):
        ex.start_stream()
        ex.event("start", {"type": "start"})
        ex.event("heartbeat", {"type": "heartbeat"})
        ex.event("progress", {"type": "progress", "progress": 50})
        ex.event("complete", {"type": "complete", "valuation": {"priceFairnessScore": 70}, "price_min": 1})
        ex.idle(10)

    server = serve(script)
    product = {"brand": "Acme", "name": "Coat", "category": "outerwear", "price": 120, "currency": "EUR"}
    with (
        client_for(server) as client,
        client.valuate_stream("https://shop.test/coat", override_product=product) as s,
    ):
        events = list(s)
    assert [e.type for e in events] == ["start", "heartbeat", "progress", "complete"]
    assert events[-1].data["valuation"]["priceFairnessScore"] == 70
    request = server.requests[0]
    assert (request.method, request.path) == ("POST", "/api/v1/value-decision/stream")
    assert request.json() == {"url": "https://shop.test/coat", "overrideProduct": product}
    assert request.headers["accept"] == "text/event-stream"
    assert request.headers["idempotency-key"]


def test_a_broken_valuation_stream_raises_stream_error(serve):
    def script(ex, n):
        ex.start_stream()
        ex.event("start", {"type": "start"})
        ex.abort()

    server = serve(script)
    with (
        client_for(server) as client,
        client.valuate_stream("https://shop.test/x") as stream,
        pytest.raises(StreamError),
    ):
        list(stream)
    assert len(server.requests) == 1  # not resumable: never re-sent behind the caller's back


async def test_the_async_stream_resumes_and_surfaces_resets(serve):
    def script(ex, n):
        ex.start_stream()
        if n == 0:
            ex.event("progress", {"progress": 0.5}, id=4)
            ex.send("id: 5\nevent: progr")
            ex.abort()
        else:
            ex.event("stream.reset", {"reason": "last_event_id_unknown", "earliest_id": 1})
            ex.event("completed", {"status": "completed"}, id=6)
            ex.finish()

    server = serve(script)
    async with (
        AsyncDealstream(KEY, server.url, heartbeat_interval=0.1) as client,
        client.stream.job("job_1") as stream,
    ):
        events = [event async for event in stream]
    assert [(e.type, e.id) for e in events] == [("progress", "4"), ("stream.reset", None), ("completed", "6")]
    assert server.requests[1].headers["last-event-id"] == "4"


async def test_the_async_watchdog_reconnects(serve):
    def script(ex, n):
        ex.start_stream()
        ex.event("deal.created", {"n": n}, id=n + 1)
        ex.idle(10)

    server = serve(script)
    events: list[Event] = []
    async with (
        AsyncDealstream(KEY, server.url, heartbeat_interval=0.05) as client,
        client.stream.deal(3) as stream,
    ):
        async for event in stream:
            events.append(event)
            if len(events) == 2:
                break
    assert [e.id for e in events] == ["1", "2"]
    assert server.requests[1].headers["last-event-id"] == "1"
    assert server.requests[0].path == "/api/v1/events/deals/3"


async def test_cancelling_the_task_that_reads_an_async_stream_closes_it(serve):
    def script(ex, n):
        ex.start_stream()
        ex.event("deal.created", {}, id=1)
        ex.idle(30)

    server = serve(script)
    received: list[str | None] = []
    async with AsyncDealstream(KEY, server.url, heartbeat_interval=20) as client:
        stream = client.stream.org()

        async def read() -> None:
            async with stream:
                async for event in stream:
                    received.append(event.id)

        task = asyncio.create_task(read())
        for _ in range(250):
            if received:
                break
            await asyncio.sleep(0.02)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await asyncio.wait_for(task, 5)
    assert received == ["1"]
    assert len(server.requests) == 1
