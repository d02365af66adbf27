"""Event feeds on the distributed deployment: two uvicorn processes and a Celery worker.

Everything runs as real processes on PostgreSQL and Redis; publishers are separate
processes calling `publish_event` (as a worker does), or the Celery worker itself.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from tests.e2e.stack import Stack, distributed_stack, rss_kb
from tests.events.support import (
    SSEStream,
    Tenant,
    make_tenants,
    metric,
    publish_in_shell,
    raw_request,
    start_publisher,
    stored_events,
    tcp_connections_to,
    wait_publishers,
    wait_until,
)

pytestmark = pytest.mark.e2e

HEARTBEAT = 0.5


TENANTS = (
    "fanout",
    "pipeline",
    "race",
    "limits",
    "iso-a",
    "iso-b",
    "heartbeat",
    "revoke",
    "errors",
    "jobs",
    "batches",
    "slow",
    "retention",
    "secrets",
)


@dataclass
class Deployment:
    stack: Stack
    web: list[str]  # two uvicorn processes sharing PostgreSQL and Redis
    tenants: dict[str, Tenant]

    def pid(self, base_url: str) -> int:
        port = base_url.rsplit(":", 1)[1]
        return next(p.popen.pid for p in self.stack.processes if p.name.endswith(f"-{port}"))


@pytest.fixture(scope="module")
def deployment() -> Iterator[Deployment]:
    with distributed_stack(
        SSE_HEARTBEAT_SECONDS=str(HEARTBEAT),
        RATE_LIMIT_PER_MINUTE="100000",
        SSE_MAX_QUEUED_EVENTS="200",
    ) as stack:
        web = [stack.start_web(), stack.start_web()]
        stack.start_worker(concurrency=1)
        yield Deployment(stack, web, make_tenants(stack, *TENANTS))


def feed_ids(frames: list) -> list[int]:
    return [f.id for f in frames if f.event is not None]


# --- fan-out across processes ---------------------------------------------------------------


def test_an_event_published_by_another_process_reaches_both_web_processes(deployment: Deployment) -> None:
    # Two more web processes whose tick is too slow to matter: delivery must be the live path.
    slow_tick = [deployment.stack.start_web(SSE_HEARTBEAT_SECONDS="60") for _ in range(2)]
    tenant = deployment.tenants["fanout"]
    streams = [SSEStream(f"{base}/api/v1/events", tenant.key) for base in slow_tick]
    try:
        assert [s.status_code for s in streams] == [200, 200]
        time.sleep(1.0)  # past the hub's activation re-check
        wait_publishers([start_publisher(deployment.stack, tenant.org_id, 5, rate=20)])
        got = [s.events(5, timeout=10) for s in streams]
        received_at = time.time()
    finally:
        for s in streams:
            s.close()
    stored = [row["id"] for row in stored_events(deployment.web[0], tenant.key)]
    assert len(stored) == 5
    for frames in got:
        assert feed_ids(frames) == stored
        assert [f.data["n"] for f in frames] == [0, 1, 2, 3, 4]
        # Seconds, not a minute: the events came over the channel layer, not from a tick.
        assert received_at - frames[0].data["sent_at"] < 10


STATEMENT_CSV = b"Date,Description,Amount,Balance\n" + b"".join(
    f"2026-0{m}-{d:02d},{'Deposit ACME' if d % 2 else 'Card purchase'},{1500 if d % 2 else -120}.00,{9000 + d * 10}.00\n".encode()
    for m in (7, 8, 9)
    for d in range(1, 28, 3)
)


def test_celery_worker_pipeline_events_reach_deal_streams_on_both_processes(deployment: Deployment) -> None:
    tenant = deployment.tenants["pipeline"]
    headers = {"Authorization": f"Bearer {tenant.key}"}
    created = httpx.post(
        f"{deployment.web[0]}/api/v1/deals", json={"business_name": "Corner Bakery"}, headers=headers
    )
    assert created.status_code == 201, created.text
    deal_id = created.json()["id"]
    streams = [SSEStream(f"{base}/api/v1/events/deals/{deal_id}", tenant.key) for base in deployment.web]
    try:
        assert [s.status_code for s in streams] == [200, 200]
        upload = httpx.post(
            f"{deployment.web[1]}/api/v1/deals/{deal_id}/statements",
            files={"file": ("statement.csv", STATEMENT_CSV, "text/csv")},
            headers=headers,
        )
        assert upload.status_code == 202, upload.text
        got = []
        for stream in streams:
            frames: list = []
            deadline = time.monotonic() + 30
            for frame in stream.frames():
                if frame.event:
                    frames.append(frame)
                if (
                    frame.event in {"processing.completed", "processing.failed"}
                    or time.monotonic() > deadline
                ):
                    break
            got.append(frames)
    finally:
        for s in streams:
            s.close()
    names = [f.event for f in got[0]]
    assert "processing.started" in names
    assert names[-1] == "processing.completed", [(f.event, f.data) for f in got[0]]
    assert feed_ids(got[0]) == feed_ids(got[1])
    stored = [row["id"] for row in stored_events(deployment.web[0], tenant.key, deal_id=deal_id)]
    assert feed_ids(got[0]) == stored[: len(got[0])]
    # The events were published by the worker process, not by a web process.
    assert (
        "deals.tasks.process_statement"
        in next(p for p in deployment.stack.processes if p.name == "worker").log()
    )


# --- resume under concurrent publishers -------------------------------------------------------


def reconnecting_reader(
    bases: list[str],
    path: str,
    key: str,
    expected: threading.Event,
    want: list[int],
    seed: int = 7,
) -> tuple[list[int], int, list[str]]:
    """Read a feed in short connections, resuming with Last-Event-ID each time."""
    rng = random.Random(seed)
    received: list[int] = []
    problems: list[str] = []
    last = 0  # a first connect from 0 replays the feed from its start
    connections = 0
    deadline = time.monotonic() + 45
    while time.monotonic() < deadline:
        base = bases[connections % len(bases)]
        connections += 1
        with SSEStream(f"{base}{path}", key, last_event_id=last, read_timeout=5) as stream:
            if stream.status_code != 200:
                problems.append(f"status {stream.status_code}: {stream.response.read()!r}")
                break
            budget = rng.randint(1, 30)
            stop_at = time.monotonic() + rng.uniform(0.02, 0.3)
            for frame in stream.frames():
                if frame.event == "stream.reset":
                    problems.append(f"unexpected reset {frame.data}")
                if frame.event is not None and frame.id is not None:
                    received.append(frame.id)
                    last = frame.id
                    budget -= 1
                if budget <= 0 or time.monotonic() > stop_at:
                    break
        if expected.is_set() and len(received) >= len(want) and set(received) >= set(want):
            break
    return received, connections, problems


def test_resume_under_concurrent_publishers_loses_and_repeats_nothing(deployment: Deployment) -> None:
    tenant = deployment.tenants["race"]
    per_publisher = 100
    start_at = time.time() + 3  # all four publish at once, once Django is up in each
    publishers = [
        start_publisher(
            deployment.stack, tenant.org_id, per_publisher, rate=50, hold_ms=3, seed=n, start_at=start_at
        )
        for n in range(4)
    ]
    done = threading.Event()
    want: list[int] = []
    result: list[tuple[list[int], int, list[str]]] = []
    reader = threading.Thread(
        target=lambda: result.append(
            reconnecting_reader(deployment.web, "/api/v1/events", tenant.key, done, want)
        )
    )
    reader.start()
    wait_publishers(publishers)
    want.extend(row["id"] for row in stored_events(deployment.web[0], tenant.key))
    done.set()
    reader.join(timeout=60)
    received, connections, problems = result[0]

    assert problems == []
    assert len(want) == 4 * per_publisher
    assert received == want  # everything, in id order, nothing twice
    assert connections >= 10, "the client should have reconnected many times while events were published"


# --- limits, isolation, heartbeats, credentials ---------------------------------------------------


def assert_json_error(response: httpx.Response, status: int, code: str | None = None) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert "text/event-stream" not in response.headers["content-type"]
    body = response.json()
    assert "request_id" in body
    if code:
        assert body["error"]["code"] == code


def test_eleventh_stream_of_a_key_is_429_across_processes_and_slots_free_on_disconnect(
    deployment: Deployment,
) -> None:
    tenant = deployment.tenants["limits"]
    redis_port = int(deployment.stack.env["REDIS_URL"].rsplit(":", 1)[1].split("/")[0])
    pids = [deployment.pid(base) for base in deployment.web]
    redis_before = sum(tcp_connections_to(pid, redis_port) for pid in pids)
    streams = [SSEStream(f"{deployment.web[i % 2]}/api/v1/events", tenant.key) for i in range(10)]
    try:
        assert [s.status_code for s in streams] == [200] * 10
        # An open stream holds no Redis connection of its own (the rate-limit check used to).
        assert sum(tcp_connections_to(pid, redis_port) for pid in pids) - redis_before < 4
        for base in deployment.web:
            refused = httpx.get(f"{base}/api/v1/events", headers={"Authorization": f"Bearer {tenant.key}"})
            assert_json_error(refused, 429, "too_many_streams")
        # Disconnecting one client frees its slot at once, on either process.
        streams.pop(3).close()
        opened_at = time.monotonic()
        while True:
            retry = SSEStream(f"{deployment.web[0]}/api/v1/events", tenant.key)
            if retry.status_code == 200:
                streams.append(retry)
                break
            retry.close()
            assert time.monotonic() - opened_at < 2, "the slot was not freed"
            time.sleep(0.05)
    finally:
        for s in streams:
            s.close()
    # All ten closed: the key is back to its full allowance.
    time.sleep(0.3)
    again = [SSEStream(f"{deployment.web[i % 2]}/api/v1/events", tenant.key) for i in range(10)]
    try:
        assert [s.status_code for s in again] == [200] * 10
    finally:
        for s in again:
            s.close()


def test_another_org_gets_404_on_every_feed_and_none_of_its_events(deployment: Deployment) -> None:
    a, b = deployment.tenants["iso-a"], deployment.tenants["iso-b"]
    paths = [
        f"/api/v1/events/deals/{a.deal}",
        f"/api/v1/events/batches/{a.batch}",
        f"/api/v1/jobs/{a.job}/stream",
        f"/api/v1/jobs/{a.billable_job}/stream",
    ]
    for base in deployment.web:
        for path in paths:
            with SSEStream(f"{base}{path}", a.key) as own:
                assert own.status_code == 200
            assert_json_error(httpx.get(f"{base}{path}", headers={"Authorization": f"Bearer {b.key}"}), 404)
            assert_json_error(httpx.get(f"{base}{path}?token={b.key}"), 404)
    # Unknown objects look exactly like the other org's.
    assert_json_error(
        httpx.get(
            f"{deployment.web[0]}/api/v1/events/deals/999999999", headers={"Authorization": f"Bearer {b.key}"}
        ),
        404,
    )
    assert_json_error(
        httpx.get(
            f"{deployment.web[0]}/api/v1/events/deals/99999999999999999999999999",
            headers={"Authorization": f"Bearer {b.key}"},
        ),
        404,
    )

    with (
        SSEStream(f"{deployment.web[0]}/api/v1/events", b.key) as b_org,
        SSEStream(f"{deployment.web[1]}/api/v1/events", b.key) as b_org_2,
    ):
        time.sleep(0.7)
        wait_publishers(
            [
                start_publisher(deployment.stack, a.org_id, 20, tag="a"),
                start_publisher(deployment.stack, b.org_id, 3, tag="b"),
            ]
        )
        for stream in (b_org, b_org_2):
            frames = stream.events(3, timeout=10)
            assert [f.data["tag"] for f in frames] == ["b", "b", "b"]
            # Nothing else arrives: the next frames are heartbeats only.
            extra = []
            stop = time.monotonic() + 2 * HEARTBEAT
            for frame in stream.frames():
                if frame.event:
                    extra.append(frame)
                if time.monotonic() > stop:
                    break
            assert extra == []


def test_stream_opens_with_retry_headers_and_sends_heartbeats(deployment: Deployment) -> None:
    tenant = deployment.tenants["heartbeat"]
    with SSEStream(
        f"{deployment.web[0]}/api/v1/events", tenant.key, headers={"X-Request-ID": "req-hb-1"}
    ) as s:
        headers = s.response.headers
        assert headers["content-type"] == "text/event-stream; charset=utf-8"
        assert headers["cache-control"] == "no-cache"
        assert headers["x-accel-buffering"] == "no"
        assert "content-encoding" not in headers
        assert headers["x-request-id"] == "req-hb-1"
        assert headers["x-scorer-version"]
        assert headers["x-app-env"] == "test"
        started = time.monotonic()
        frames = []
        for frame in s.frames():
            frames.append(frame)
            if sum(1 for f in frames if f.comment == "heartbeat") >= 2:
                break
        elapsed = time.monotonic() - started
    assert frames[0].retry == 3000
    assert all(f.event is None for f in frames)
    assert elapsed < 4 * HEARTBEAT + 1


def test_a_revoked_key_has_its_open_streams_closed_within_a_heartbeat(deployment: Deployment) -> None:
    tenant = deployment.tenants["revoke"]
    doomed, survivor = tenant.key, tenant.extra_keys[0]
    streams = [SSEStream(f"{base}/api/v1/events", doomed) for base in deployment.web]
    other = SSEStream(f"{deployment.web[0]}/api/v1/events", survivor)
    ended_at: list[float] = []
    try:
        assert [s.status_code for s in streams] == [200, 200]

        def drain(stream: SSEStream) -> None:
            for _ in stream.frames():
                pass
            ended_at.append(time.monotonic())

        readers = [threading.Thread(target=drain, args=(s,)) for s in streams]
        for r in readers:
            r.start()
        command_started = time.monotonic()
        deployment.stack.manage("revokeapikey", tenant.prefix)  # commits somewhere in this window
        command_ended = time.monotonic()
        for r in readers:
            r.join(timeout=10)
        assert len(ended_at) == 2
        assert min(ended_at) > command_started
        assert max(ended_at) - command_ended < HEARTBEAT * 2 + 0.5  # one tick, plus slack
        # The other key of the org keeps streaming.
        heartbeats = [f for f in _frames_for(other, HEARTBEAT * 3) if f.comment == "heartbeat"]
        assert heartbeats
        assert_json_error(
            httpx.get(f"{deployment.web[1]}/api/v1/events", headers={"Authorization": f"Bearer {doomed}"}),
            401,
            "api_key_revoked",
        )
    finally:
        for s in [*streams, other]:
            s.close()


def _frames_for(stream: SSEStream, seconds: float) -> list:
    frames = []
    stop = time.monotonic() + seconds
    for frame in stream.frames():
        frames.append(frame)
        if time.monotonic() > stop:
            break
    return frames


def test_refusals_are_json_errors_never_streams(deployment: Deployment) -> None:
    key = deployment.tenants["errors"].key
    write_only = deployment.stack.manage("createapikey", "--org", "errors", "--scopes", "write").strip()
    base = deployment.web[1]
    bearer = {"Authorization": f"Bearer {key}"}
    assert_json_error(httpx.get(f"{base}/api/v1/events"), 401, "unauthenticated")
    assert_json_error(httpx.get(f"{base}/api/v1/events?token=dsk_live_nope"), 401)
    assert_json_error(httpx.get(f"{base}/api/v1/events", headers={"Authorization": "Basic abc"}), 401)
    assert_json_error(httpx.get(f"{base}/api/v1/events?token={write_only}"), 403)
    assert_json_error(httpx.get(f"{base}/api/v1/jobs/job_nope/stream", headers=bearer), 404)
    assert_json_error(httpx.get(f"{base}/api/v1/events/batches/batch_nope", headers=bearer), 404)
    # Raw bytes: "²" (latin-1 B2) and "١" (Arabic-Indic one) pass str.isdigit().
    for bad in (b"abc", b"-5", b"1.0", "²".encode("latin-1"), "١".encode()):
        assert_json_error(
            httpx.get(
                f"{base}/api/v1/events",
                headers=[(b"Authorization", f"Bearer {key}".encode()), (b"Last-Event-ID", bad)],
            ),
            400,
            "invalid_last_event_id",
        )
    assert_json_error(httpx.get(f"{base}/api/v1/events?last_event_id=x1", headers=bearer), 400)


# --- finite feeds ----------------------------------------------------------------------------


def test_job_feed_closes_after_its_terminal_event_then_replays_and_204s(deployment: Deployment) -> None:
    tenant = deployment.tenants["jobs"]
    job = tenant.job
    url = f"{deployment.web[0]}/api/v1/jobs/{job}/stream"
    first = publish_in_shell(
        deployment.stack, tenant.org_id, [("status", {"job_id": job, "status": "started"})]
    )
    with SSEStream(url, tenant.key) as live:
        assert feed_ids(live.events(1)) == first  # a fresh client gets the job's history
        rest = publish_in_shell(
            deployment.stack,
            tenant.org_id,
            [
                ("progress", {"job_id": job, "progress": 0.5, "message": "half"}),
                ("completed", {"job_id": job, "status": "completed", "results": {"ok": True}}),
            ],
        )
        frames = live.read_all()  # returns only because the server ends the stream
        assert live.ended
    all_ids = first + rest
    assert feed_ids(frames) == rest
    assert frames[-1].event == "completed"

    # Already finished: replayed in full, then closed.
    with SSEStream(url, tenant.key) as replay:
        frames = replay.read_all()
    assert feed_ids(frames) == all_ids
    assert [f.event for f in frames if f.event] == ["status", "progress", "completed"]
    # Resuming from the middle gets the rest, then the end.
    with SSEStream(url, tenant.key, last_event_id=all_ids[0]) as resumed:
        assert feed_ids(resumed.read_all()) == all_ids[1:]
    # Resuming from the terminal event: 204, which tells EventSource to stop.
    for base in deployment.web:
        done = httpx.get(
            f"{base}/api/v1/jobs/{job}/stream",
            headers={"Authorization": f"Bearer {tenant.key}", "Last-Event-ID": str(all_ids[-1])},
        )
        assert done.status_code == 204
        assert done.content == b""


def test_a_finished_job_whose_history_was_pruned_closes_at_once(deployment: Deployment) -> None:
    tenant = deployment.tenants["retention"]
    deployment.stack.manage(
        "shell",
        "-c",
        "from jobs.models import Job; from events.models import Event; "
        f"Job.objects.filter(pk={tenant.job!r}).update(status='completed'); "
        f"Event.objects.filter(job_id={tenant.job!r}).delete()",
    )
    started = time.monotonic()
    with SSEStream(f"{deployment.web[0]}/api/v1/jobs/{tenant.job}/stream", tenant.key) as s:
        frames = s.read_all()
        assert s.ended
    assert feed_ids(frames) == []
    # Closed by the server, not by a read timeout: well within a couple of heartbeats.
    assert time.monotonic() - started < 5


def test_billable_job_feed_ends_with_usage(deployment: Deployment) -> None:
    tenant = deployment.tenants["jobs"]
    job = tenant.billable_job
    usage = {
        "job_id": job,
        "monthly_used": 1,
        "monthly_limit": 500,
        "monthly_remaining": 499,
        "was_billable": True,
        "subscription_tier": "free",
    }
    ids = publish_in_shell(
        deployment.stack,
        tenant.org_id,
        [
            ("status", {"job_id": job, "status": "started"}),
            ("failed", {"job_id": job, "status": "failed", "error": "boom"}),
            ("usage", usage),
        ],
    )
    with SSEStream(f"{deployment.web[1]}/api/v1/jobs/{job}/stream", tenant.key) as s:
        frames = s.read_all()
    assert [f.event for f in frames if f.event] == ["status", "failed", "usage"]
    assert feed_ids(frames) == ids


def test_batch_feed_closes_after_batch_completed(deployment: Deployment) -> None:
    tenant = deployment.tenants["batches"]
    batch = tenant.batch
    url = f"{deployment.web[0]}/api/v1/events/batches/{batch}"
    with SSEStream(url, tenant.key) as live:
        time.sleep(0.7)
        ids = publish_in_shell(
            deployment.stack,
            tenant.org_id,
            [
                (
                    "batch.document_processed",
                    {"batch_id": batch, "document_id": "d1", "status": "completed", "progress": "1/2"},
                ),
                (
                    "batch.document_failed",
                    {"batch_id": batch, "document_id": "d2", "error": "bad", "progress": "2/2"},
                ),
                ("batch.completed", {"batch_id": batch, "total": 2, "succeeded": 1, "failed": 1}),
            ],
        )
        frames = live.read_all()
    assert feed_ids(frames) == ids
    assert frames[-1].event == "batch.completed"
    assert (
        httpx.get(
            url, headers={"Authorization": f"Bearer {tenant.key}", "Last-Event-ID": str(ids[-1])}
        ).status_code
        == 204
    )
    with SSEStream(url, tenant.key, last_event_id=ids[0]) as resumed:
        assert feed_ids(resumed.read_all()) == ids[1:]


# --- slow readers, retention, secrets --------------------------------------------------------------


def test_a_slow_reader_is_dropped_and_memory_stays_bounded(deployment: Deployment) -> None:
    tenant = deployment.tenants["slow"]
    base = deployment.web[1]
    pid = deployment.pid(base)
    dropped_before = metric(base, "dealstream_streams_dropped_total", reason="slow_reader")
    with SSEStream(f"{base}/api/v1/events", tenant.key) as healthy:
        sock = raw_request(base, "/api/v1/events", {"Authorization": f"Bearer {tenant.key}"}, rcvbuf=4096)
        try:
            time.sleep(0.7)
            rss_before = rss_kb(pid)
            # 600 events of ~20 KB: 12 MB that the stalled client never reads.
            publisher = start_publisher(deployment.stack, tenant.org_id, 600, pad=20000, rate=400)
            healthy_got = healthy.events(600, timeout=40)
            wait_publishers([publisher])
            wait_until(
                lambda: metric(base, "dealstream_streams_dropped_total", reason="slow_reader")
                > dropped_before,
                timeout=10,
                message="the slow reader was never dropped",
            )
            rss_after = rss_kb(pid)
            # The server ends the stalled response: reading on now reaches the end of the stream.
            sock.settimeout(10)
            total = 0
            while chunk := sock.recv(1 << 20):
                total += len(chunk)
            assert total < 600 * 20000
        finally:
            sock.close()
    assert len(healthy_got) == 600  # the fast client was not slowed down or dropped
    # Bounded: the per-connection queue (200 events here) plus socket buffers, not 12 MB.
    assert rss_after - rss_before < 30_000, (rss_before, rss_after)


_AGE_AND_PRUNE = """
from datetime import timedelta
from django.utils import timezone
from events.models import Event
from events.retention import prune_events
Event.objects.filter(id__in={ids}).update(created_at=timezone.now() - timedelta(days=30))
print(prune_events())
"""


def test_a_position_older_than_retention_gets_stream_reset(deployment: Deployment) -> None:
    tenant = deployment.tenants["retention"]
    wait_publishers([start_publisher(deployment.stack, tenant.org_id, 5)])
    ids = [row["id"] for row in stored_events(deployment.web[0], tenant.key)]
    pruned = deployment.stack.manage("shell", "-c", _AGE_AND_PRUNE.format(ids=ids[:3]))
    assert pruned.strip().splitlines()[-1] == "3"

    with SSEStream(f"{deployment.web[1]}/api/v1/events", tenant.key, last_event_id=ids[0]) as s:
        frames = s.events(3, timeout=10)
    assert frames[0].event == "stream.reset"
    assert frames[0].id is None
    assert frames[0].data["reason"] == "last_event_id_too_old"
    assert frames[0].data["earliest_id"] == ids[3]
    assert feed_ids(frames[1:]) == ids[3:]

    # The newest pruned id lost nothing: plain resume.
    with SSEStream(f"{deployment.web[1]}/api/v1/events", tenant.key, last_event_id=ids[2]) as s:
        assert feed_ids(s.events(2, timeout=10)) == ids[3:]
    # An id from the future: reset, then the retained history.
    with SSEStream(f"{deployment.web[0]}/api/v1/events", tenant.key, last_event_id=10**15) as s:
        frames = s.events(3, timeout=10)
    assert frames[0].data["reason"] == "last_event_id_unknown"
    assert feed_ids(frames[1:]) == ids[3:]


def test_keys_in_query_strings_never_reach_the_logs(deployment: Deployment) -> None:
    tenant = deployment.tenants["secrets"]
    for base in deployment.web:
        for param in ("token", "api_key"):
            with SSEStream(f"{base}/api/v1/events?{param}={tenant.key}&x=1") as s:
                assert s.status_code == 200
                s.events(0, timeout=0.1)
            assert httpx.get(f"{base}/api/v1/jobs/job_nope/stream?{param}={tenant.key}").status_code == 404
            assert httpx.get(f"{base}/api/v1/events?{param}={tenant.key}&last_event_id=zz").status_code == 400
            # A key in the query string of a non-stream endpoint is refused, and not logged either.
            assert httpx.get(f"{base}/api/v1/events/log?{param}={tenant.key}").status_code == 401
    time.sleep(0.5)
    logs = deployment.stack.logs()
    assert tenant.key not in logs
    assert tenant.key[len(tenant.prefix) :] not in logs
    # The requests were logged, with the key redacted.
    assert "/api/v1/events?token=[redacted]" in logs
    assert "/api/v1/events?api_key=[redacted]" in logs
