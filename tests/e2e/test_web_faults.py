"""Fault drills on the web tier, in distributed mode on real processes: two uvicorn processes,
two Celery workers and `celery beat`, PostgreSQL and a Redis server of the drills' own.

While a writer creates deals and uploads statements (failing over between the processes, with
`Idempotency-Key`) and three feeds are followed as EventSource follows them (resuming with
`Last-Event-ID`), each drill breaks something:

* a rolling restart: SIGTERM to process A, a new one on its port, then the same for B;
* a web process SIGKILLed under its clients;
* every PostgreSQL connection of the deployment terminated, three times.

Each then checks the contract (tests/e2e/drills.py): every acknowledged event on every open
feed exactly once, in order; every 201/202-acknowledged object present and its job terminal
within its bound; no 500. The figures printed with `-s` are the ones docs/operations.md cites.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import httpx
import psycopg
import pytest

from tests.e2e.drills import FeedReader, Outcome, Writer, assert_contract
from tests.e2e.stack import Process, Stack, distributed_stack, free_port, own_redis

pytestmark = pytest.mark.e2e

SHUTDOWN_BOUND_SECONDS = 10
#: From a statement's 202 to its job ending, with nothing wrong with the workers.
JOB_BOUND_SECONDS = 60
#: The farewell `retry:` is random up to this; short so a drill's clients come back quickly.
RETRY_MAX_MILLISECONDS = 1500


@dataclass
class Deployment:
    stack: Stack
    ports: list[int]

    @property
    def bases(self) -> list[str]:
        return [f"http://127.0.0.1:{port}" for port in self.ports]

    def web(self, index: int) -> Process:
        suffix = f"-{self.ports[index]}"
        return next(p for p in self.stack.processes if p.name.endswith(suffix) and p.popen.poll() is None)

    def start(self, index: int) -> None:
        self.stack.start_web("uvicorn", port=self.ports[index])


@pytest.fixture(scope="module")
def deployment() -> Iterator[Deployment]:
    if shutil.which("redis-server") is None:
        if os.environ.get("DEALSTREAM_REQUIRE_SERVICES") == "1":
            pytest.fail("redis-server is not installed; the fault drills start their own")
        pytest.skip("redis-server is not installed; the fault drills start their own")
    with (
        own_redis() as redis,
        distributed_stack(
            redis_url=redis.url,
            RATE_LIMIT_PER_MINUTE="100000",
            SSE_HEARTBEAT_SECONDS="1",
            SSE_SHUTDOWN_RETRY_MAX_MILLISECONDS=str(RETRY_MAX_MILLISECONDS),
        ) as stack,
    ):
        deployment = Deployment(stack, [free_port(), free_port()])
        # Started side by side: each takes seconds to import Django and Celery.
        with ThreadPoolExecutor(max_workers=5) as pool:
            starting: list[Future[object]] = [pool.submit(deployment.start, index) for index in range(2)]
            starting += [pool.submit(stack.start_worker, concurrency=1) for _ in range(2)]
            starting.append(pool.submit(stack.start_beat))
            for future in starting:
                future.result()
        yield deployment


@dataclass
class Load:
    key: str
    writer: Writer
    readers: list[FeedReader]


def start_load(deployment: Deployment, org: str) -> Load:
    """A fresh organisation, its feeds open on both processes, and the writer running."""
    key = deployment.stack.create_key(org)
    bases = deployment.bases
    created = httpx.post(
        f"{bases[0]}/api/v1/deals",
        json={"business_name": "Watched"},
        headers={"Authorization": f"Bearer {key}"},
        timeout=10,
    )
    assert created.status_code == 201, created.text
    watched = created.json()["id"]
    readers = [
        FeedReader(bases, "/api/v1/events", key, prefer=0),
        FeedReader(bases, "/api/v1/events", key, prefer=1),
        FeedReader(bases, f"/api/v1/events/deals/{watched}", key, prefer=0),
    ]
    for reader in readers:
        reader.start()
    deadline = time.monotonic() + 15
    while not all(reader.streams for reader in readers):
        assert time.monotonic() < deadline, [r.refusals for r in readers]
        time.sleep(0.05)
    writer = Writer(bases, key, watched_deal=watched)
    writer.start()
    time.sleep(2)  # under load before the fault
    return Load(key, writer, readers)


@contextlib.contextmanager
def worker_logs_on_failure(deployment: Deployment) -> Iterator[None]:
    """A failed contract prints what the workers and beat logged: where a slow job's time went."""
    try:
        yield
    except AssertionError:
        print(deployment.stack.logs("worker", "beat")[-60000:])
        raise


def report(drill: str, outcome: Outcome) -> None:
    print(
        f"{drill}: {outcome.deals} deals, {outcome.uploads} uploads, {outcome.events} events; "
        f"slowest job {outcome.slowest_job_seconds:.1f} s from 202 to terminal; "
        f"clients back streaming at most {outcome.slowest_reconnect_seconds:.2f} s after losing their stream"
    )


@pytest.mark.timeout(180)
def test_a_rolling_restart_under_load_loses_repeats_and_strands_nothing(deployment: Deployment) -> None:
    load = start_load(deployment, "Rolling restart")
    before = len(load.writer.uploads)
    shutdowns = []
    for index in range(2):
        web = deployment.web(index)
        stopped = time.monotonic()
        web.popen.send_signal(signal.SIGTERM)
        web.popen.wait(timeout=30)
        shutdowns.append(time.monotonic() - stopped)
        deployment.start(index)
        time.sleep(2)  # the clients settle on both processes before the next one goes
    load.writer.stop()

    outcome = assert_contract(deployment.bases[0], load.key, load.writer, load.readers, JOB_BOUND_SECONDS)
    report("rolling restart", outcome)
    print(f"rolling restart: each process exited {', '.join(f'{s:.2f}' for s in shutdowns)} s after SIGTERM")
    assert max(shutdowns) < SHUTDOWN_BOUND_SECONDS
    # Each feed lost its process at least once and came back: the drill really moved them.
    assert all(reader.streams >= 2 for reader in load.readers), [r.streams for r in load.readers]
    assert outcome.uploads > before  # the writer got through during the restart or after it


@pytest.mark.timeout(180)
def test_a_web_process_killed_under_its_clients_loses_and_repeats_nothing(deployment: Deployment) -> None:
    load = start_load(deployment, "Killed web process")
    before = len(load.writer.uploads)
    web = deployment.web(0)
    os.killpg(web.popen.pid, signal.SIGKILL)
    web.popen.wait(timeout=10)
    time.sleep(3)  # everything runs on B meanwhile
    deployment.start(0)
    time.sleep(2)
    load.writer.stop()

    # A request cut off by the kill may have left its Idempotency-Key claimed: its retries
    # hear 409 (never a 500), and the client knows the object was not acknowledged.
    outcome = assert_contract(
        deployment.bases[1],
        load.key,
        load.writer,
        load.readers,
        JOB_BOUND_SECONDS,
        allowed_statuses=frozenset({201, 202, 409}),
    )
    report("web process SIGKILLed", outcome)
    assert load.readers[0].streams >= 2  # the feed that was on A resumed elsewhere
    assert outcome.uploads > before


@pytest.mark.timeout(180)
def test_postgresql_connections_terminated_under_load_lose_nothing(deployment: Deployment) -> None:
    load = start_load(deployment, "Terminated connections")
    database = deployment.stack.env["DATABASE_URL"].rsplit("/", 1)[1]
    admin = os.environ["DATABASE_URL"].rsplit("/", 1)[0] + "/postgres"
    terminated = 0
    before = len(load.writer.uploads)
    with psycopg.connect(admin, autocommit=True) as conn:
        for _ in range(3):
            rows = conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = %s AND pid <> pg_backend_pid()",
                (database,),
            ).fetchall()
            terminated += len(rows)
            time.sleep(1.5)
    time.sleep(2)
    load.writer.stop()

    # A request whose connection was cut answers 503 (and its Idempotency-Key may stay
    # claimed for a moment: 409); the writer retries both.
    with worker_logs_on_failure(deployment):
        outcome = assert_contract(
            deployment.bases[0],
            load.key,
            load.writer,
            load.readers,
            JOB_BOUND_SECONDS,
            allowed_statuses=frozenset({201, 202, 409, 503}),
        )
    report(f"{terminated} PostgreSQL connections terminated", outcome)
    assert terminated >= 6  # both web processes' and the workers' connections, at least
    assert outcome.uploads > before  # the writer got through, during the fault or after it
