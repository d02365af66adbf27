"""Real SSE clients against a real server: httpx-sse, sseclient-py, curl and Chromium's EventSource."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
import sseclient
from httpx_sse import connect_sse

from tests.e2e.stack import Stack, distributed_stack
from tests.events.support import (
    Tenant,
    make_tenants,
    publish_in_shell,
    start_publisher,
    stored_events,
    wait_publishers,
)

pytestmark = pytest.mark.e2e

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@dataclass
class Server:
    stack: Stack
    base: str
    tenants: dict[str, Tenant]

    @property
    def port(self) -> int:
        return int(self.base.rsplit(":", 1)[1])

    def web_process(self):  # the live uvicorn process on our port
        return next(
            p
            for p in reversed(self.stack.processes)
            if p.name.endswith(f"-{self.port}") and p.popen.poll() is None
        )


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    with distributed_stack(
        SSE_HEARTBEAT_SECONDS="0.5", SSE_RETRY_MILLISECONDS="300", RATE_LIMIT_PER_MINUTE="100000"
    ) as stack:
        base = stack.start_web()
        yield Server(stack, base, make_tenants(stack, "httpx", "sseclient", "curl", "browser", "browser-job"))


def publish(server: Server, tenant: Tenant, count: int, tag: str) -> None:
    wait_publishers([start_publisher(server.stack, tenant.org_id, count, tag=tag)])


def stored_ids(server: Server, tenant: Tenant) -> list[int]:
    return [row["id"] for row in stored_events(server.base, tenant.key)]


def test_httpx_sse(server: Server) -> None:
    tenant = server.tenants["httpx"]
    with (
        httpx.Client(timeout=httpx.Timeout(10, connect=5)) as client,
        connect_sse(
            client, "GET", f"{server.base}/api/v1/events", headers={"Authorization": f"Bearer {tenant.key}"}
        ) as source,
    ):
        assert source.response.headers["content-type"].startswith("text/event-stream")
        publish(server, tenant, 4, "httpx")
        got = []
        for sse in source.iter_sse():
            if not sse.data:
                continue  # httpx-sse also yields the data-less `retry:` block
            got.append(sse)
            if len(got) == 4:
                break
    assert [int(sse.id) for sse in got] == stored_ids(server, tenant)
    assert {sse.event for sse in got} == {"deal.status_changed"}
    assert [json.loads(sse.data)["n"] for sse in got] == [0, 1, 2, 3]
    # Resume with the last id this client saw: the rest only.
    publish(server, tenant, 2, "httpx-2")
    with (
        httpx.Client(timeout=httpx.Timeout(10, connect=5)) as client,
        connect_sse(
            client,
            "GET",
            f"{server.base}/api/v1/events",
            headers={"Authorization": f"Bearer {tenant.key}", "Last-Event-ID": got[-1].id},
        ) as source,
    ):
        resumed = []
        for sse in source.iter_sse():
            if not sse.data:
                continue
            resumed.append(int(sse.id))
            if len(resumed) == 2:
                break
    assert resumed == stored_ids(server, tenant)[4:]


def test_sseclient_py(server: Server) -> None:
    tenant = server.tenants["sseclient"]
    with (
        httpx.Client(timeout=httpx.Timeout(10, connect=5)) as client,
        client.stream("GET", f"{server.base}/api/v1/events?api_key={tenant.key}") as response,
    ):
        assert response.status_code == 200
        events = sseclient.SSEClient(chunk for chunk in response.iter_raw()).events()
        publish(server, tenant, 3, "sseclient")
        got = [next(events) for _ in range(3)]
    assert [int(e.id or 0) for e in got] == stored_ids(server, tenant)
    assert [e.event for e in got] == ["deal.status_changed"] * 3
    assert [json.loads(e.data)["tag"] for e in got] == ["sseclient"] * 3


def read_curl_events(curl: subprocess.Popen[str], count: int, timeout: float = 15) -> list[dict[str, str]]:
    assert curl.stdout is not None
    events: list[dict[str, str]] = []
    current: dict[str, str] = {}
    deadline = time.monotonic() + timeout
    for line in curl.stdout:
        line = line.rstrip("\n")
        if not line:
            if "event" in current:
                events.append(current)
                if len(events) == count:
                    break
            current = {}
        elif not line.startswith(":"):
            name, _, value = line.partition(": ")
            current[name] = value
        assert time.monotonic() < deadline, "curl saw too few events"
    return events


def test_curl_no_buffer(server: Server) -> None:
    tenant = server.tenants["curl"]
    curl = subprocess.Popen(
        ["curl", "-sN", "--max-time", "20", f"{server.base}/api/v1/events?token={tenant.key}"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        time.sleep(0.5)
        publish(server, tenant, 3, "curl")
        events = read_curl_events(curl, 3)
    finally:
        curl.kill()
        curl.wait()
    ids = stored_ids(server, tenant)
    assert [int(e["id"]) for e in events] == ids
    assert [json.loads(e["data"])["n"] for e in events] == [0, 1, 2]

    # curl with Last-Event-ID replays what came after it, then stays open for live events.
    resumed = subprocess.Popen(
        [
            "curl",
            "-sN",
            "--max-time",
            "20",
            "-H",
            f"Authorization: Bearer {tenant.key}",
            "-H",
            f"Last-Event-ID: {ids[0]}",
            f"{server.base}/api/v1/events",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert [int(e["id"]) for e in read_curl_events(resumed, 2)] == ids[1:]
    finally:
        resumed.kill()
        resumed.wait()


# --- Chromium's EventSource -----------------------------------------------------------------

LISTEN = """
([url, types]) => {
    window.got = [];
    window.opens = 0;
    window.errors = 0;
    const source = new EventSource(url);
    window.source = source;
    for (const type of types) {
        source.addEventListener(type, (e) => window.got.push({id: e.lastEventId, type: e.type, data: JSON.parse(e.data)}));
    }
    source.onopen = () => { window.opens += 1; };
    source.onerror = () => { window.errors += 1; };
}
"""


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def wait_for_count(page, count: int, timeout: float = 20) -> list[dict]:
    page.wait_for_function(f"() => window.got.length >= {count}", timeout=timeout * 1000)
    return page.evaluate("window.got")


@pytest.mark.browser
def test_browser_event_source_resumes_across_a_server_restart(server: Server, browser) -> None:
    tenant = server.tenants["browser"]
    page = browser.new_page()
    try:
        page.goto(f"{server.base}/healthz")  # same origin as the feed
        page.evaluate(LISTEN, [f"/api/v1/events?token={tenant.key}", ["deal.status_changed", "stream.reset"]])
        page.wait_for_function("() => window.opens >= 1", timeout=10_000)
        publish(server, tenant, 3, "before")
        assert len(wait_for_count(page, 3)) == 3

        # The server dies; events keep being published meanwhile; a new server takes the port.
        server.web_process().stop(signal.SIGKILL)
        page.wait_for_function("() => window.errors >= 1", timeout=10_000)
        publish(server, tenant, 4, "while-down")
        server.stack.start_web(port=server.port)
        page.wait_for_function("() => window.opens >= 2", timeout=20_000)
        publish(server, tenant, 2, "after")
        got = wait_for_count(page, 9)
    finally:
        page.close()
    ids = stored_ids(server, tenant)
    assert [int(e["id"]) for e in got] == ids  # nothing missing, nothing twice, in order
    assert [e["data"]["tag"] for e in got] == ["before"] * 3 + ["while-down"] * 4 + ["after"] * 2
    assert all(e["type"] == "deal.status_changed" for e in got)


@pytest.mark.browser
def test_browser_stops_after_a_finished_job_feed(server: Server, browser) -> None:
    tenant = server.tenants["browser-job"]
    job = tenant.job
    page = browser.new_page()
    try:
        page.goto(f"{server.base}/healthz")
        page.evaluate(
            LISTEN, [f"/api/v1/jobs/{job}/stream?token={tenant.key}", ["status", "progress", "completed"]]
        )
        page.wait_for_function("() => window.opens >= 1", timeout=10_000)
        publish_in_shell(
            server.stack,
            tenant.org_id,
            [
                ("status", {"job_id": job, "status": "started"}),
                ("progress", {"job_id": job, "progress": 0.5, "message": "half"}),
                ("completed", {"job_id": job, "status": "completed", "results": {}}),
            ],
        )
        got = wait_for_count(page, 3)
        # The server ends the stream; EventSource reconnects with the terminal id, gets 204, stops.
        page.wait_for_function("() => window.source.readyState === 2", timeout=10_000)
        time.sleep(1)
        final = page.evaluate("[window.got.length, window.opens]")
    finally:
        page.close()
    assert [e["type"] for e in got] == ["status", "progress", "completed"]
    assert final == [3, 1]
