"""`deals.watch`: the deal, then its feed from the read's `event_position`; a reset re-reads both."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from dealstream import AsyncDealstream, Dealstream

from tests.client.conftest import Script
from tests.client.fake_server import Exchange, FakeServer
from tests.client.test_cli import run


def deal_server(ex: Exchange, n: int) -> None:
    """Read (position 7) → feed: 8, reset → read (position 20) → feed: 21 → nothing more (204)."""
    if n == 0:
        ex.json(200, {"id": 9, "status": "new", "business_name": "Bolt", "event_position": 7})
    elif n == 1:
        ex.start_stream()
        ex.event("deal.status_changed", {"deal_id": 9, "new_status": "processing"}, id=8)
        ex.event("stream.reset", {"reason": "last_event_id_too_old", "earliest_id": 15})
        ex.idle(5)  # the client leaves this connection for a new snapshot
    elif n == 2:
        ex.json(200, {"id": 9, "status": "under_review", "business_name": "Bolt", "event_position": 20})
    elif n == 3:
        ex.start_stream()
        ex.event("deal.decision", {"deal_id": 9, "decision": "approved"}, id=21)
        ex.finish()
    else:
        ex.empty(204)


def check_requests(server: FakeServer) -> None:
    paths = [(seen.path, seen.headers.get("last-event-id")) for seen in server.requests]
    assert paths[:4] == [
        ("/api/v1/deals/9", None),
        ("/api/v1/events/deals/9", "7"),
        ("/api/v1/deals/9", None),
        ("/api/v1/events/deals/9", "20"),
    ]


def test_it_streams_from_the_snapshot_and_resnapshots_on_reset(serve: Callable[[Script], FakeServer]) -> None:
    server = serve(deal_server)
    seen: list[tuple[Any, str, str]] = []
    with Dealstream("dsk_test_x", server.url) as client, client.deals.watch(9) as watch:
        assert watch.deal["event_position"] == 7
        for event in watch:
            seen.append((event.id, event.type, watch.deal["status"]))
    assert seen == [
        ("8", "deal.status_changed", "new"),
        (None, "stream.reset", "under_review"),  # the deal was read again before the reset came out
        ("21", "deal.decision", "under_review"),
    ]
    check_requests(server)


def test_the_async_watch_does_the_same(serve: Callable[[Script], FakeServer]) -> None:
    server = serve(deal_server)

    async def main() -> list[tuple[Any, str, str]]:
        seen = []
        async with AsyncDealstream("dsk_test_x", server.url) as client, client.deals.watch(9) as watch:
            assert watch.deal["event_position"] == 7
            async for event in watch:
                seen.append((event.id, event.type, watch.deal["status"]))
        return seen

    assert [kind for _, kind, _ in asyncio.run(main())] == [
        "deal.status_changed",
        "stream.reset",
        "deal.decision",
    ]
    check_requests(server)


def test_the_command_prints_the_deal_then_its_changes(serve: Callable[[Script], FakeServer]) -> None:
    server = serve(deal_server)
    result = run(server.url, "watch", "deal", "9")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "deal 9 (Bolt): status new, health score n/a, at event 7"
    assert "#8  deal.status_changed" in lines[1]
    assert "stream.reset" in lines[2]
    assert lines[3] == "deal 9 (Bolt): status under_review, health score n/a, at event 20"
    assert "#21  deal.decision" in lines[4]
    check_requests(server)


def test_a_filtered_feed_asks_for_its_types(serve: Callable[[Script], FakeServer]) -> None:
    server = serve(lambda ex, n: ex.empty(204))
    with (
        Dealstream("dsk_test_x", server.url) as client,
        client.stream.org(types="processing.*,deal.decision") as s,
    ):
        assert list(s) == []
    assert server.requests[0].path == "/api/v1/events"
    assert server.requests[0].query == {"types": ["processing.*,deal.decision"]}


def test_the_command_passes_types_on(serve: Callable[[Script], FakeServer]) -> None:
    server = serve(lambda ex, n: ex.empty(204))
    result = run(server.url, "watch", "job", "job_1", "--types", "progress")
    assert result.returncode == 0, result.stderr
    assert server.requests[0].query == {"types": ["progress"]}
