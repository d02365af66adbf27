"""Job dispatch survives a broker outage: uploads made while Redis is down are accepted (202),
their jobs wait `queued`, and run exactly once within seconds of Redis coming back; deals
created meanwhile are acknowledged (201), and the org and deal feeds that stayed open through
the outage carry every stored event once, in order.

Runs a Redis server of its own (killed and restarted here), a uvicorn web process and a
Celery worker.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.e2e.drills import FeedReader, feed_events, wait_for_feed
from tests.e2e.stack import RedisServer, Stack, distributed_stack
from tests.e2e.test_worker_crash import job_of, wait_for
from tests.jobs.factories import healthy_csv

pytestmark = pytest.mark.e2e

# From Redis's return to every job owed during the outage ending: the web process retries
# its owed messages every second, and the worker reconnects with Celery's backoff.
DISPATCH_BOUND_SECONDS = 30


@pytest.fixture
def stack(redis: RedisServer) -> Iterator[Stack]:
    # A heartbeat well inside the feed readers' read timeout: a quiet stream is not a dead one.
    with distributed_stack(
        redis_url=redis.url, RATE_LIMIT_PER_MINUTE="100000", SSE_HEARTBEAT_SECONDS="1"
    ) as stack:
        yield stack


def test_it_accepts_uploads_while_the_broker_is_down_and_runs_them_once_it_returns(
    stack: Stack, redis: RedisServer
) -> None:
    base_url = stack.start_web("uvicorn")
    key = stack.create_key("Outage E2E")
    stack.start_worker(concurrency=2)
    with httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {key}"}, timeout=30) as client:
        deal = client.post("/api/v1/deals", json={"business_name": "Bolt Logistics"}).json()
        readers = [
            FeedReader([base_url], "/api/v1/events", key),
            FeedReader([base_url], f"/api/v1/events/deals/{deal['id']}", key),
        ]
        for reader in readers:
            reader.start()
        wait_for(lambda: all(r.streams for r in readers), message="the feeds to open")

        redis.kill()
        created = client.post("/api/v1/deals", json={"business_name": "Created during the outage"})
        assert created.status_code == 201, created.text
        job_ids: list[str] = []
        for month in ("jan", "feb", "mar"):
            response = client.post(
                f"/api/v1/deals/{deal['id']}/statements", files={"file": (f"{month}.csv", healthy_csv())}
            )
            assert response.status_code == 202, response.text
            job_ids.append(response.json()["job_id"])
        batch = client.post(
            "/api/v1/batches",
            data={"deal_id": str(deal["id"])},
            files=[("files", ("apr.csv", healthy_csv())), ("files", ("may.csv", healthy_csv()))],
        )
        assert batch.status_code == 202, batch.text
        statements = client.get(f"/api/v1/deals/{deal['id']}").json()["statements"]
        assert len(statements) == 5
        job_ids += [s["job_id"] for s in statements if s["job_id"] not in job_ids]
        time.sleep(2)  # the web process's retries meet a broker that is still down
        assert {job_of(client, job_id)["status"] for job_id in job_ids} == {"queued"}

        redis.start()
        returned = time.monotonic()

        def all_ended() -> list[dict[str, Any]] | None:
            jobs = [job_of(client, job_id) for job_id in job_ids]
            return jobs if all(j["status"] in {"completed", "failed"} for j in jobs) else None

        jobs = wait_for(all_ended, timeout=DISPATCH_BOUND_SECONDS + 30, message="the owed jobs to end")
        elapsed = time.monotonic() - returned
        print(f"jobs owed during the outage ended {elapsed:.1f} s after Redis returned")
        assert elapsed < DISPATCH_BOUND_SECONDS
        assert [(j["status"], j["attempts"]) for j in jobs] == [("completed", 1)] * 5  # each ran once
        for job_id in job_ids:
            log = client.get("/api/v1/events/log", params={"job_id": job_id, "limit": 500}).json()
            starts = [e for e in log["results"] if e["type"] == "status" and e["data"]["status"] == "started"]
            assert len(starts) == 1
        deal = client.get(f"/api/v1/deals/{deal['id']}").json()
        assert [s["status"] for s in deal["statements"]] == ["completed"] * 5
        assert client.get(f"/api/v1/deals/{created.json()['id']}").status_code == 200

    # The feeds stayed open through the outage: every stored event of each, once and in order.
    for reader in readers:
        wait_for_feed(reader, feed_events(base_url, key, reader.path))
        reader.stop()
        assert reader.refusals == []
        assert reader.streams == 1  # never dropped, nothing to resume
        assert reader.received == feed_events(base_url, key, reader.path)
    assert len(readers[1].received) >= 5 * 5  # each statement's five stage events, at least
