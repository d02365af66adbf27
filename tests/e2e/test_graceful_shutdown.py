"""Graceful shutdown: a uvicorn process sent SIGTERM with 1,000 streams open ends every stream
with a random `retry:` and exits within 10 s; its clients resume on the next process with
`Last-Event-ID` and miss nothing, and all of them reconnecting at once to the restarted
process are streaming again (the figure printed: how long until the last one is back).

Set GRACEFUL_SHUTDOWN_STREAMS to measure another count (docs/operations.md).
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import time
from collections.abc import Iterator

import pytest

from bench.sse_load import Load
from tests.e2e.stack import Stack, distributed_stack, free_port
from tests.events.support import SSEStream, publish_in_shell, raw_request, stored_events

pytestmark = pytest.mark.e2e

STREAMS = int(os.environ.get("GRACEFUL_SHUTDOWN_STREAMS", "1000"))
SHUTDOWN_BOUND_SECONDS = 10
RETRY_MAX_MILLISECONDS = 5000
RETRY = re.compile(rb"^retry: (\d+)$", re.MULTILINE)
ORG_ID = "from accounts.models import Organization; print(Organization.objects.get().pk)"


@pytest.fixture
def stack() -> Iterator[Stack]:
    with distributed_stack(
        RATE_LIMIT_PER_MINUTE="1000000",
        SSE_MAX_STREAMS_PER_KEY=str(STREAMS + 10),
        SSE_SHUTDOWN_RETRY_MAX_MILLISECONDS=str(RETRY_MAX_MILLISECONDS),
    ) as stack:
        yield stack


async def reopen(load: Load, count: int) -> None:
    await load.open(count)
    await load.close()


def read_until(sock: socket.socket, marker: bytes, deadline: float) -> bytes:
    data = b""
    while marker not in data:
        sock.settimeout(max(0.1, deadline - time.monotonic()))
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    return data


def read_to_end(sock: socket.socket, deadline: float) -> bytes:
    data = b""
    while True:
        sock.settimeout(max(0.1, deadline - time.monotonic()))
        chunk = sock.recv(65536)
        if not chunk:
            return data
        data += chunk


@pytest.mark.timeout(300)
def test_it_ends_every_stream_and_exits_quickly_on_sigterm(stack: Stack) -> None:
    port = free_port()
    base_url = stack.start_web("uvicorn", port=port)
    web = stack.processes[-1]
    tenant_key = stack.create_key("Shutdown E2E")
    org_id = int(stack.manage("shell", "-c", ORG_ID).strip().splitlines()[-1])
    headers = {"Authorization": f"Bearer {tenant_key}"}

    watcher = SSEStream(f"{base_url}/api/v1/events", tenant_key, read_timeout=30)
    first = publish_in_shell(stack, org_id, [("deal.created", {"deal_id": 1, "business_name": "Before"})])
    assert [f.id for f in watcher.events(1)] == first

    sockets = [raw_request(base_url, "/api/v1/events", headers) for _ in range(STREAMS)]
    deadline = time.monotonic() + 120
    for sock in sockets:
        opening = read_until(sock, b"retry:", deadline)
        assert b" 200 " in opening.split(b"\r\n", 1)[0], opening[:200]

    started = time.monotonic()
    web.popen.send_signal(signal.SIGTERM)
    web.popen.wait(timeout=60)
    shutdown_seconds = time.monotonic() - started
    print(f"uvicorn with {STREAMS} open streams exited {shutdown_seconds:.2f} s after SIGTERM")
    assert shutdown_seconds < SHUTDOWN_BOUND_SECONDS
    assert "Stopping: ending" in web.log()

    delays = []
    deadline = time.monotonic() + 30
    for sock in sockets:
        body = read_to_end(sock, deadline)  # everything after the opening, until the server closed it
        sock.close()
        retries = [int(value) for value in RETRY.findall(body)]
        assert len(retries) == 1, body[-300:]  # the farewell
        assert body.endswith(b"0\r\n\r\n")  # the response ended cleanly, not cut off
        delays.append(retries[-1])
    assert min(delays) >= 500
    assert max(delays) <= RETRY_MAX_MILLISECONDS
    assert len(set(delays)) > min(STREAMS, 4500) // 10  # spread, not one instant
    farewell = list(watcher.frames())
    assert watcher.ended
    assert farewell[-1].retry is not None
    watcher.close()

    # Published while no web process runs; the client resumes on the next one and misses nothing.
    missed = publish_in_shell(stack, org_id, [("deal.created", {"deal_id": 2, "business_name": "Between"})])
    base_url = stack.start_web("uvicorn", port=port)

    # Every client back at once on the new process (the worst case: the jittered `retry:`
    # only spreads them), resuming with Last-Event-ID, through the benchmark's load generator.
    storm = Load("127.0.0.1", port, "/api/v1/events", {**headers, "Last-Event-ID": str(first[-1])})
    reopened = time.monotonic()
    asyncio.run(reopen(storm, STREAMS))
    print(
        f"{STREAMS} clients reconnecting at once with Last-Event-ID were all streaming again on the "
        f"restarted process {time.monotonic() - reopened:.1f} s later"
    )
    assert storm.failures == []
    assert len(storm.connections) == STREAMS
    with SSEStream(
        f"{base_url}/api/v1/events", tenant_key, last_event_id=first[-1], read_timeout=10
    ) as resumed:
        assert [f.id for f in resumed.events(1)] == missed
    assert [e["id"] for e in stored_events(base_url, tenant_key)] == sorted(first + missed)
