"""Positions, filters and stream tickets (spec §8a) on real processes: PostgreSQL, Redis, two
uvicorn processes (one logging text, one JSON), publishers in processes of their own."""

from __future__ import annotations

import json
import random
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from dealstream import Dealstream

from tests.e2e.stack import PYTHON, ROOT, Stack, distributed_stack
from tests.events.support import (
    SSEStream,
    Tenant,
    make_tenants,
    start_publisher,
    stored_events,
    wait_publishers,
    wait_until,
)

# The deployment starts in the first test's setup (three web processes, tens of seconds on a busy machine).
pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]

HEARTBEAT = 0.5
TENANTS = ("snapshot", "filtered", "heartbeat", "tickets", "rival", "revoked")


@dataclass
class Deployment:
    stack: Stack
    web: list[str]  # [text logs, JSON logs]
    short_tickets: str  # a third process issuing tickets that expire after one second
    tenants: dict[str, Tenant]


@pytest.fixture(scope="module")
def deployment() -> Iterator[Deployment]:
    with distributed_stack(SSE_HEARTBEAT_SECONDS=str(HEARTBEAT), RATE_LIMIT_PER_MINUTE="100000") as stack:
        web = [stack.start_web(LOG_FORMAT="text"), stack.start_web(LOG_FORMAT="json")]
        short = stack.start_web(STREAM_TICKET_TTL_SECONDS="1")
        yield Deployment(stack, web, short, make_tenants(stack, *TENANTS))


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


# --- snapshot, then stream from its position ----------------------------------------------------

# A worker's kind of change: the deal and its event in one transaction, the deal's row locked
# first (as every pipeline step does); then an event of another deal. The deal's name counts the changes: "v<n>" after the
# n-th, whose event carries n. Runs until `stop_at` (epoch seconds).
_RENAMER = """
import time
from django.db import transaction
from deals.models import Deal
from events.publish import publish_event
deal_id, org_id, stop_at = {deal}, {org}, {stop_at}
while time.time() < stop_at:
    with transaction.atomic():
        deal = Deal.objects.select_for_update(no_key=True).get(pk=deal_id)
        name = deal.business_name
        n = (int(name[1:]) if name.startswith("v") and name[1:].isdigit() else 0) + 1
        deal.business_name = f"v{{n}}"
        deal.save(update_fields=["business_name"])
        publish_event(org_id, "deal.status_changed",
                      {{"deal_id": deal_id, "old_status": "new", "new_status": "new", "n": n}})
    # An event of another deal in between, so the deal feed's ids have gaps.
    publish_event(org_id, "deal.status_changed", {{"deal_id": -deal_id, "old_status": "a", "new_status": "b"}})
    time.sleep(0.002)
"""


def start_renamer(stack: Stack, tenant: Tenant, stop_at: float) -> subprocess.Popen[str]:
    script = _RENAMER.format(deal=tenant.deal, org=tenant.org_id, stop_at=stop_at)
    return subprocess.Popen(
        [PYTHON, "manage.py", "shell", "-c", script],
        cwd=ROOT,
        env=stack.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_a_read_then_its_feed_from_event_position_misses_and_repeats_nothing(
    deployment: Deployment,
) -> None:
    tenant = deployment.tenants["snapshot"]
    with httpx.Client(headers=bearer(tenant.key), timeout=10) as client:
        stop_at = time.time() + 150  # ended below, as soon as the runs are done
        renamers = [start_renamer(deployment.stack, tenant, stop_at) for _ in range(2)]
        try:
            wait_until(lambda: _name(client, deployment.web[0], tenant) >= 5, 30, 0.1, "no renames")
            checked = 0
            for run in range(100):
                base, other = deployment.web[run % 2], deployment.web[(run + 1) % 2]
                read = client.get(f"{base}/api/v1/deals/{tenant.deal}")
                assert read.status_code == 200, read.text
                seen = changes(read.json()["business_name"])
                position = read.json()["event_position"]
                assert read.headers["Last-Event-ID"] == str(position)
                with SSEStream(
                    f"{other}/api/v1/events/deals/{tenant.deal}", tenant.key, last_event_id=position
                ) as stream:
                    assert stream.status_code == 200
                    frames = stream.events(2, timeout=10)
                # The first event after the position is the first change the read did not show.
                assert [f.data["n"] for f in frames] == [seen + 1, seen + 2], (run, seen, position)
                assert all(f.id > position for f in frames)
                checked += 1
            assert checked == 100
            # The Python client does the same in `deals.watch`.
            with Dealstream(tenant.key, deployment.web[1]) as api, api.deals.watch(tenant.deal) as watch:
                seen = changes(watch.deal["business_name"])
                counted = []
                for event in watch:
                    counted.append(event.data["n"])
                    if len(counted) == 3:
                        break
            assert counted == [seen + 1, seen + 2, seen + 3]
        finally:
            for process in renamers:
                process.terminate()
                process.wait(timeout=10)


def _name(client: httpx.Client, base: str, tenant: Tenant) -> int:
    return changes(client.get(f"{base}/api/v1/deals/{tenant.deal}").json()["business_name"])


def changes(name: str) -> int:
    """How many renames a deal's name counts ("v12": 12; the name it was created with: 0)."""
    return int(name[1:]) if name.startswith("v") and name[1:].isdigit() else 0


# --- filtered feeds -------------------------------------------------------------------------------

FILTER = "processing.*,deal.decision"
SELECTED = {"processing.progress", "deal.decision"}


def resuming_reader(
    bases: list[str], path: str, key: str, done: threading.Event, want: list[int], seed: int = 11
) -> tuple[list[tuple[int, str]], int, list[str]]:
    """Read a feed in short connections, resuming with Last-Event-ID each time, until it has
    seen as many events as `want` holds once `done` is set."""
    rng = random.Random(seed)
    received: list[tuple[int, str]] = []
    problems: list[str] = []
    last = 0
    connections = 0
    deadline = time.monotonic() + 50
    while time.monotonic() < deadline:
        base = bases[connections % len(bases)]
        connections += 1
        with SSEStream(f"{base}{path}", key, last_event_id=last, read_timeout=5) as stream:
            if stream.status_code != 200:
                problems.append(f"status {stream.status_code}")
                break
            budget = rng.randint(1, 15)
            stop_at = time.monotonic() + rng.uniform(0.05, 0.4)
            for frame in stream.frames():
                if frame.event == "stream.reset":
                    problems.append(f"unexpected reset {frame.data}")
                if frame.event is not None and frame.id is not None:
                    received.append((frame.id, frame.event))
                    last = frame.id
                    budget -= 1
                if budget <= 0 or time.monotonic() > stop_at:
                    break
        if done.is_set() and len(received) >= len(want):
            break
    return received, connections, problems


def test_a_filtered_feed_resumed_under_concurrent_publishers_is_exactly_the_filtered_log(
    deployment: Deployment,
) -> None:
    tenant = deployment.tenants["filtered"]
    start_at = time.time() + 3
    publishers = [
        start_publisher(
            deployment.stack, tenant.org_id, 60, rate=60, hold_ms=3, seed=n, type=kind, start_at=start_at
        )
        for n, kind in enumerate(["deal.status_changed", "processing.progress", "deal.decision"])
    ]
    done = threading.Event()
    expected: list[int] = []
    result: list[tuple[list[tuple[int, str]], int, list[str]]] = []
    reader = threading.Thread(
        target=lambda: result.append(
            resuming_reader(deployment.web, f"/api/v1/events?types={FILTER}", tenant.key, done, expected)
        )
    )
    reader.start()
    try:
        wait_publishers(publishers)
        everything = stored_events(deployment.web[0], tenant.key)
        expected.extend(row["id"] for row in everything if row["type"] in SELECTED)
    finally:
        done.set()
        reader.join(timeout=55)
    received, connections, problems = result[0]

    assert len(everything) == 3 * 60
    assert len(expected) == 2 * 60  # the filter drops the status changes
    assert problems == []
    assert [event_id for event_id, _ in received] == expected  # in order, no gap, no duplicate
    assert {kind for _, kind in received} == SELECTED
    assert connections >= 10, "the reader should have resumed many times while events were published"
    # The log's filter is the same one, in SQL.
    assert [row["id"] for row in stored_events(deployment.web[1], tenant.key, types=FILTER)] == expected


def test_a_filtered_stream_gets_heartbeats_while_other_events_flow(deployment: Deployment) -> None:
    tenant = deployment.tenants["heartbeat"]
    with SSEStream(f"{deployment.web[0]}/api/v1/events?types=deal.decision", tenant.key) as stream:
        assert stream.status_code == 200
        publisher = start_publisher(deployment.stack, tenant.org_id, 400, rate=100)
        heartbeats, events = 0, 0
        try:
            wait_until(lambda: _published(deployment, tenant) > 20, 30, 0.1, "the publisher did not start")
            started = time.monotonic()
            for frame in stream.frames():
                heartbeats += frame.comment == "heartbeat"
                events += frame.event is not None
                if time.monotonic() - started > 2.5:
                    break
        finally:
            wait_publishers([publisher])
    assert events == 0
    assert heartbeats >= 3  # one per 0.5 s interval of silence, despite 100 skipped events a second


def _published(deployment: Deployment, tenant: Tenant) -> int:
    return len(stored_events(deployment.web[0], tenant.key))


def test_an_unknown_type_is_refused_before_any_stream_byte(deployment: Deployment) -> None:
    tenant = deployment.tenants["filtered"]
    response = httpx.get(
        f"{deployment.web[0]}/api/v1/events/deals/{tenant.deal}?types=deal.nope", headers=bearer(tenant.key)
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_types"


# --- stream tickets -------------------------------------------------------------------------------


def ticket(base: str, key: str, feed: str, **extra: Any) -> dict[str, Any]:
    response = httpx.post(f"{base}/api/v1/stream-tickets", json={"feed": feed, **extra}, headers=bearer(key))
    assert response.status_code == 201, response.text
    return dict(response.json())


def open_url(base: str, url: str, **headers: str) -> SSEStream:
    return SSEStream(base + url, headers=headers)


ISSUED: list[str] = []  # every ticket the tests saw, for the log check at the end


def test_a_ticket_opens_its_feed_once(deployment: Deployment) -> None:
    tenant = deployment.tenants["tickets"]
    feed = f"/api/v1/events/deals/{tenant.deal}"
    issued = ticket(deployment.web[0], tenant.key, feed)
    ISSUED.append(issued["ticket"])
    with open_url(deployment.web[1], issued["url"]) as stream:  # redeemed on the other process
        assert stream.status_code == 200
        assert next(stream.frames()).retry is not None
    again = httpx.get(deployment.web[0] + issued["url"])
    assert again.status_code == 401
    assert again.json()["error"]["code"] == "ticket_used"


def test_a_ticket_is_bound_to_its_feed_and_unspent_by_a_refusal(deployment: Deployment) -> None:
    tenants = deployment.tenants
    tenant = tenants["tickets"]
    issued = ticket(deployment.web[0], tenant.key, f"/api/v1/events/deals/{tenant.deal}")
    ISSUED.append(issued["ticket"])
    query = f"?ticket={issued['ticket']}"
    for path in (
        "/api/v1/events",
        f"/api/v1/events/batches/{tenant.batch}",
        f"/api/v1/events/deals/{tenants['rival'].deal}",  # another organisation's deal
    ):
        refused = httpx.get(deployment.web[0] + path + query)
        assert refused.status_code == 403, (path, refused.text)
        assert refused.json()["error"]["code"] == "ticket_wrong_feed"
        assert "text/event-stream" not in refused.headers["content-type"]
    with open_url(deployment.web[0], issued["url"]) as stream:
        assert stream.status_code == 200


def test_a_ticket_for_another_organisations_object_is_404(deployment: Deployment) -> None:
    tenant, rival = deployment.tenants["tickets"], deployment.tenants["rival"]
    for feed in (f"/api/v1/events/deals/{rival.deal}", f"/api/v1/jobs/{rival.job}/stream"):
        response = httpx.post(
            f"{deployment.web[0]}/api/v1/stream-tickets", json={"feed": feed}, headers=bearer(tenant.key)
        )
        assert response.status_code == 404, response.text


def test_a_ticket_expires(deployment: Deployment) -> None:
    tenant = deployment.tenants["tickets"]
    issued = ticket(deployment.short_tickets, tenant.key, "/api/v1/events")
    ISSUED.append(issued["ticket"])
    time.sleep(1.3)
    response = httpx.get(deployment.web[0] + issued["url"])
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "ticket_expired"
    fresh = ticket(deployment.short_tickets, tenant.key, "/api/v1/events")
    ISSUED.append(fresh["ticket"])
    with open_url(deployment.web[0], fresh["url"]) as stream:
        assert stream.status_code == 200


def test_a_ticket_carries_its_filter_and_cannot_widen_it(deployment: Deployment) -> None:
    tenant = deployment.tenants["tickets"]
    issued = ticket(deployment.web[0], tenant.key, "/api/v1/events", types="deal.decision")
    ISSUED.append(issued["ticket"])
    widened = httpx.get(f"{deployment.web[0]}/api/v1/events?ticket={issued['ticket']}&types=deal.*")
    assert widened.status_code == 403
    assert widened.json()["error"]["code"] == "ticket_wrong_types"
    with open_url(deployment.web[0], issued["url"]) as stream:
        assert stream.status_code == 200
        publisher_ids = _publish_pair(deployment, tenant)
        frames = stream.events(1, timeout=10)
    assert [(f.id, f.event) for f in frames] == [(publisher_ids["deal.decision"], "deal.decision")]


def _publish_pair(deployment: Deployment, tenant: Tenant) -> dict[str, int]:
    from tests.events.support import publish_in_shell

    data = {"deal_id": tenant.deal, "old_status": "a", "new_status": "b"}
    ids = publish_in_shell(
        deployment.stack,
        tenant.org_id,
        [("deal.status_changed", data), ("deal.decision", {"deal_id": tenant.deal, "decision": "approved"})],
    )
    return {"deal.status_changed": ids[0], "deal.decision": ids[1]}


def test_revoking_the_key_closes_its_ticket_streams(deployment: Deployment) -> None:
    tenant = deployment.tenants["revoked"]
    issued = ticket(deployment.web[1], tenant.key, "/api/v1/events")
    ISSUED.append(issued["ticket"])
    with open_url(deployment.web[1], issued["url"]) as stream:
        assert stream.status_code == 200
        deployment.stack.manage("revokeapikey", tenant.prefix)
        revoked_at = time.monotonic()
        stream.read_all()  # returns when the server ends the stream
        assert stream.ended
        assert time.monotonic() - revoked_at < 5 * HEARTBEAT + 2
    refused = httpx.post(
        f"{deployment.web[1]}/api/v1/stream-tickets",
        json={"feed": "/api/v1/events"},
        headers=bearer(tenant.key),
    )
    assert refused.status_code == 401


def test_tickets_never_reach_the_logs_in_either_format(deployment: Deployment) -> None:
    assert len(ISSUED) >= 5, "run with the ticket tests above"
    time.sleep(0.5)  # let the access log lines of the last requests land
    logs = {p.name: p.log() for p in deployment.stack.processes if p.name.startswith("web-")}
    text_log, json_log = (logs[f"web-uvicorn-{base.rsplit(':', 1)[1]}"] for base in deployment.web)
    # The requests were logged (the access log, in text and in JSON), with the ticket masked.
    assert "ticket=[redacted]" in text_log
    assert any("ticket=[redacted]" in json.loads(line).get("message", "") for line in _json_lines(json_log))
    for name, log in logs.items():
        for secret in ISSUED:
            assert secret not in log, f"a stream ticket is in the log of {name}"
            assert secret[4:20] not in log, f"part of a stream ticket is in the log of {name}"


def _json_lines(log: str) -> list[str]:
    return [line for line in log.splitlines() if line.startswith("{")]
