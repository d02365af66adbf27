"""A Celery worker SIGKILLed mid-job: the reaper, on its production schedule under `celery beat`,
runs the job again within 60 s and it completes, never left `started`, while the org and deal
feeds open throughout carry every stored event once, in order; and a running job that is
canceled ends `canceled`.

Jobs are slowed in a controlled way by DEALSTREAM_TEST_STAGE_DELAY_SECONDS (test-only, honoured
with APP_ENV=test: a sleep before every stage boundary, see deals/pipeline.py).
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from tests.e2e.drills import FeedReader, feed_events, wait_for_feed
from tests.e2e.stack import Stack, distributed_stack
from tests.events.support import stored_events
from tests.jobs.factories import healthy_csv

pytestmark = pytest.mark.e2e

# From the worker's SIGKILL to the job being claimed again (docs/jobs.md, "Lost workers":
# 30 s of silence plus at most one 10 s reaper period, then a worker picks it up).
RECOVERY_BOUND_SECONDS = 60


def wait_for(check: Callable[[], Any], timeout: float = 30, message: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"Timed out waiting for {message}")


@pytest.fixture
def stack() -> Iterator[Stack]:
    # A heartbeat well inside the feed readers' read timeout: a quiet stream is not a dead one.
    with distributed_stack(RATE_LIMIT_PER_MINUTE="100000", SSE_HEARTBEAT_SECONDS="1") as stack:
        yield stack


def start(stack: Stack) -> httpx.Client:
    base_url = stack.start_web("uvicorn")
    key = stack.create_key("Crash E2E")
    return httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {key}"}, timeout=30)


def key_of(client: httpx.Client) -> str:
    return client.headers["Authorization"].removeprefix("Bearer ")


def upload(client: httpx.Client) -> tuple[int, str]:
    deal = client.post("/api/v1/deals", json={"business_name": "Bolt Logistics"}).json()
    response = client.post(
        f"/api/v1/deals/{deal['id']}/statements", files={"file": ("jan.csv", healthy_csv())}
    )
    assert response.status_code == 202, response.text
    return deal["id"], response.json()["job_id"]


def job_of(client: httpx.Client, job_id: str) -> dict[str, Any]:
    response = client.get(f"/api/v1/jobs/{job_id}")
    assert response.status_code == 200, response.text
    return dict(response.json())


@pytest.mark.timeout(180)
def test_a_job_whose_worker_is_killed_is_retried_to_completion(stack: Stack) -> None:
    with start(stack) as client:
        stack.start_beat()
        doomed = stack.start_worker(concurrency=1, DEALSTREAM_TEST_STAGE_DELAY_SECONDS="30")
        base_url, key = str(client.base_url), key_of(client)
        org_feed = FeedReader([base_url], "/api/v1/events", key)
        org_feed.start()
        deal_id, job_id = upload(client)
        deal_feed = FeedReader([base_url], f"/api/v1/events/deals/{deal_id}", key)
        deal_feed.start()
        wait_for(lambda: job_of(client, job_id)["status"] == "started", message="the job to start")
        time.sleep(6)  # past a heartbeat: the job is seen alive before it dies

        os.killpg(doomed.popen.pid, signal.SIGKILL)  # the whole worker: main process and children
        killed = time.monotonic()
        doomed.popen.wait(timeout=10)
        stack.start_worker(concurrency=1)
        assert job_of(client, job_id)["attempts"] == 1  # nobody is left to finish it

        wait_for(
            lambda: job_of(client, job_id)["attempts"] == 2,
            timeout=RECOVERY_BOUND_SECONDS + 30,
            message="the job to run again",
        )
        recovered = time.monotonic() - killed
        print(f"the job ran again {recovered:.1f} s after its worker was SIGKILLed")
        assert recovered < RECOVERY_BOUND_SECONDS

        job = wait_for(
            lambda: (j := job_of(client, job_id))["status"] in {"completed", "failed"} and j,
            message="the retried job to end",
        )
        assert job["status"] == "completed", job
        assert job["attempts"] == 2
        deal = client.get(f"/api/v1/deals/{deal_id}").json()
        assert deal["status"] == "under_review"
        assert deal["statements"][0]["status"] == "completed"
        log = client.get("/api/v1/events/log", params={"job_id": job_id, "limit": 500}).json()["results"]
        statuses = [e["data"]["status"] for e in log if e["type"] == "status"]
        assert statuses == ["queued", "started", "queued", "started"]
        assert [e["type"] for e in log][-2:] == ["completed", "usage"]

    # Both runs' events, as stored, on the feeds that were open throughout: once, in order.
    for reader in (org_feed, deal_feed):
        wait_for_feed(reader, feed_events(base_url, key, reader.path))
        reader.stop()
        assert reader.refusals == []
        assert reader.received == feed_events(base_url, key, reader.path)
    outcomes = [e["type"] for e in stored_events(base_url, key) if e["type"].startswith("processing.")]
    assert outcomes[-1] == "processing.completed"
    assert outcomes.count("processing.completed") == 1  # the statement was scored once


@pytest.mark.timeout(90)
def test_a_running_job_that_is_canceled_ends_canceled(stack: Stack) -> None:
    with start(stack) as client:
        stack.start_worker(concurrency=1, DEALSTREAM_TEST_STAGE_DELAY_SECONDS="1")
        deal_id, job_id = upload(client)
        wait_for(lambda: job_of(client, job_id)["progress"] > 0, message="the job to pass its first stage")

        response = client.post(f"/api/v1/jobs/{job_id}/cancel")
        assert response.status_code == 202, response.text
        job = wait_for(
            lambda: (j := job_of(client, job_id))["status"] != "started" and j, message="the job to stop"
        )
        assert job["status"] == "canceled"
        assert client.post(f"/api/v1/jobs/{job_id}/cancel").status_code == 409
        deal = client.get(f"/api/v1/deals/{deal_id}").json()
        assert deal["statements"][0]["status"] == "canceled"
        assert deal["status"] == "under_review"
        log = client.get("/api/v1/events/log", params={"job_id": job_id, "limit": 500}).json()["results"]
        assert [e["type"] for e in log][-2:] == ["canceled", "usage"]
