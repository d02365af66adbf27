"""Metrics from real Celery workers reach a scrape: the worker's port sums its pool processes'
pipeline timings and published events, and the web /metrics shows the queue while it waits.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.stack import Stack, distributed_stack, free_port
from tests.jobs.factories import healthy_csv

pytestmark = pytest.mark.e2e

TOKEN = "worker-metrics-token-0123456789"
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def wait_for(check: Callable[[], Any], timeout: float = 60, message: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"Timed out waiting for {message}")


def parse(text: str) -> Samples:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def total(samples: Samples, name: str, **labels: str) -> float:
    """Sum of a metric's samples whose labels include `labels` (whatever else they carry)."""
    wanted = set(labels.items())
    return sum(value for (n, lbls), value in samples.items() if n == name and wanted <= set(lbls))


@pytest.fixture
def stack() -> Iterator[Stack]:
    with distributed_stack(RATE_LIMIT_PER_MINUTE="100000", METRICS_TOKEN=TOKEN) as stack:
        yield stack


@pytest.mark.timeout(180)
def test_it_exposes_worker_pipeline_timings_and_events_and_the_waiting_queue(stack: Stack) -> None:
    base_url = stack.start_web("uvicorn")
    key = stack.create_key("Metrics E2E")
    auth = {"Authorization": f"Bearer {TOKEN}"}
    with httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {key}"}, timeout=30) as api:
        deal = api.post("/api/v1/deals", json={"business_name": "Bolt Logistics"}).json()
        upload = api.post(
            f"/api/v1/deals/{deal['id']}/statements", files={"file": ("jan.csv", healthy_csv())}
        )
        assert upload.status_code == 202, upload.text
        job_id = upload.json()["job_id"]

        # No worker yet: the job waits in the table and its message in the broker.
        time.sleep(1.5)
        web = parse(httpx.get(f"{base_url}/metrics", headers=auth, timeout=10).text)
        assert web[("dealstream_jobs", (("status", "queued"),))] == 1
        assert web[("dealstream_job_oldest_age_seconds", (("status", "queued"),))] >= 1
        queue = (("queue", stack.env["REDIS_PREFIX"]),)
        assert web[("dealstream_broker_queue_messages", queue)] == 1
        assert web[("dealstream_jobs_awaiting_dispatch", ())] == 0

        port = free_port()
        stack.start_worker(
            concurrency=2,
            WORKER_METRICS_PORT=str(port),
            PROMETHEUS_MULTIPROC_DIR=str(stack.workdir / "worker-metrics"),
        )
        wait_for(
            lambda: api.get(f"/api/v1/jobs/{job_id}").json()["status"] == "completed",
            message="the statement job to complete",
        )

    worker_url = f"http://127.0.0.1:{port}/metrics"
    refused = httpx.get(worker_url, timeout=10)
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "unauthenticated"
    assert httpx.get(worker_url, headers={"Authorization": "Bearer wrong"}, timeout=10).status_code == 401

    worker = parse(httpx.get(worker_url, headers=auth, timeout=10).text)
    # Every stage of the statement pipeline was timed in a pool process and summed here.
    stages = {
        dict(labels)["stage"]
        for (name, labels), value in worker.items()
        if name == "dealstream_pipeline_stage_seconds_count" and value > 0
    }
    assert len(stages) >= 3, worker
    assert total(worker, "dealstream_pipeline_stage_seconds_sum") > 0
    # The job's status and processing events were published by the worker, not the web process.
    assert total(worker, "dealstream_events_published_total") >= 3
    assert total(worker, "dealstream_events_published_total", type="processing.completed") == 1

    web = parse(httpx.get(f"{base_url}/metrics", headers=auth, timeout=10).text)
    assert web[("dealstream_jobs", (("status", "completed"),))] == 1
    assert web[("dealstream_jobs", (("status", "queued"),))] == 0
    assert web[("dealstream_broker_queue_messages", queue)] == 0
    assert total(web, "dealstream_pipeline_stage_seconds_count") == 0  # none ran in the web process
