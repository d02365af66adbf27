"""Smoke test of the feeds under daphne (the rest of the suite runs uvicorn)."""

from __future__ import annotations

import time

import httpx
import pytest

from tests.e2e.stack import distributed_stack
from tests.events.support import (
    SSEStream,
    make_tenants,
    publish_in_shell,
    start_publisher,
    stored_events,
    wait_publishers,
)

pytestmark = pytest.mark.e2e


def test_feeds_work_under_daphne() -> None:
    with distributed_stack(
        SSE_HEARTBEAT_SECONDS="0.5", SSE_MAX_STREAMS_PER_KEY="2", RATE_LIMIT_PER_MINUTE="100000"
    ) as stack:
        base = stack.start_web("daphne")
        tenant = make_tenants(stack, "daphne")["daphne"]
        url = f"{base}/api/v1/events"

        with SSEStream(url, tenant.key) as live:
            assert live.response.headers["content-type"] == "text/event-stream; charset=utf-8"
            assert live.response.headers["x-accel-buffering"] == "no"
            first = next(live.frames())
            assert first.retry == 3000
            assert any(f.comment == "heartbeat" for f, _ in zip(live.frames(), range(3), strict=False))
            # At the limit (2 here): the third is refused with JSON before any stream byte.
            with SSEStream(url, tenant.key) as second:
                assert second.status_code == 200
                third = httpx.get(url, headers={"Authorization": f"Bearer {tenant.key}"})
                assert third.status_code == 429
                assert third.json()["error"]["code"] == "too_many_streams"
            # Disconnecting frees the slot at once.
            deadline = time.monotonic() + 2
            while True:
                with SSEStream(url, tenant.key) as again:
                    if again.status_code == 200:
                        break
                assert time.monotonic() < deadline, "slot not freed under daphne"
                time.sleep(0.05)

            wait_publishers([start_publisher(stack, tenant.org_id, 4)])
            frames = live.events(4, timeout=10)
        ids = [row["id"] for row in stored_events(base, tenant.key)]
        assert [f.id for f in frames] == ids

        with SSEStream(url, tenant.key, last_event_id=ids[1]) as resumed:
            assert [f.id for f in resumed.events(2, timeout=5)] == ids[2:]

        # A finite feed ends when its work does, under daphne too.
        job = tenant.job
        publish_in_shell(
            stack,
            tenant.org_id,
            [
                ("status", {"job_id": job, "status": "started"}),
                ("canceled", {"job_id": job, "status": "canceled"}),
            ],
        )
        with SSEStream(f"{base}/api/v1/jobs/{job}/stream", tenant.key) as finished:
            assert [f.event for f in finished.read_all() if f.event] == ["status", "canceled"]
