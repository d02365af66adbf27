"""Helpers for the end-to-end feed tests: a small SSE reader, orgs and keys, publishers, metrics."""

from __future__ import annotations

import contextlib
import json
import os
import re
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx

from tests.e2e.stack import PYTHON, ROOT, Stack


@dataclass
class Frame:
    """One SSE message (or a comment / retry line) as it came off the wire."""

    id: int | None = None
    event: str | None = None
    data: Any = None
    comment: str | None = None
    retry: int | None = None
    raw: bytes = b""


def parse_frame(raw: bytes) -> Frame:
    frame = Frame(raw=raw)
    for line in raw.decode().split("\n"):
        if line.startswith(":"):
            frame.comment = line[1:].strip()
            continue
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "id":
            frame.id = int(value)
        elif name == "event":
            frame.event = value
        elif name == "data":
            frame.data = json.loads(value)
        elif name == "retry":
            frame.retry = int(value)
    return frame


def split_frames(buffer: bytes) -> tuple[list[Frame], bytes]:
    """Complete frames in `buffer` and what is left of it (the server frames with "\\n\\n")."""
    *complete, rest = buffer.split(b"\n\n")
    return [parse_frame(raw) for raw in complete], rest


class SSEStream:
    """A blocking SSE reader over httpx; the read timeout bounds every wait for bytes."""

    def __init__(
        self,
        url: str,
        key: str | None = None,
        *,
        last_event_id: int | str | None = None,
        headers: dict[str, str] | None = None,
        read_timeout: float = 10.0,
    ) -> None:
        request_headers = {"Accept": "text/event-stream", **(headers or {})}
        if key:
            request_headers["Authorization"] = f"Bearer {key}"
        if last_event_id is not None:
            request_headers["Last-Event-ID"] = str(last_event_id)
        self.client = httpx.Client(timeout=httpx.Timeout(read_timeout, connect=5.0))
        self._context = self.client.stream("GET", url, headers=request_headers)
        self.response = self._context.__enter__()
        self.status_code = self.response.status_code
        self._chunks = self.response.iter_raw()
        self._buffer = b""
        self.ended = False

    def frames(self) -> Iterator[Frame]:
        """Every frame until the server ends the stream (raises httpx.ReadTimeout when idle too long)."""
        while True:
            try:
                chunk = next(self._chunks)
            except StopIteration:
                self.ended = True
                return
            frames, self._buffer = split_frames(self._buffer + chunk)
            yield from frames

    def events(self, count: int, timeout: float = 10.0) -> list[Frame]:
        """The next `count` events (comments skipped), or fewer if the stream ends first."""
        deadline = time.monotonic() + timeout
        found: list[Frame] = []
        for frame in self.frames():
            if frame.event is not None:
                found.append(frame)
                if len(found) >= count:
                    break
            if time.monotonic() > deadline:
                break
        return found

    def read_all(self) -> list[Frame]:
        """Every frame until the server closes the stream."""
        return list(self.frames())

    def close(self) -> None:
        self._context.__exit__(None, None, None)
        self.client.close()

    def __enter__(self) -> SSEStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass
class Tenant:
    """An organisation with API keys and one object of each kind its feeds can be about."""

    name: str
    org_id: int
    key: str
    extra_keys: list[str]
    deal: int
    batch: str
    job: str
    billable_job: str

    @property
    def prefix(self) -> str:
        return self.key[: len("dsk_live_") + 8]


_MAKE_TENANTS = """
import json
from accounts.models import ApiKey, Organization
from deals.models import Batch, Deal
from jobs.models import Job
out = {}
for name, keys in %s:
    org, _ = Organization.objects.get_or_create(name=name)
    deal = Deal.objects.create(organization=org, business_name=name + " deal", created_by="e2e")
    out[name] = {
        "org_id": org.pk,
        "keys": [ApiKey.create_key(org, name=f"k{i}")[1] for i in range(keys)],
        "deal": deal.pk,
        "batch": Batch.objects.create(organization=org, deal=deal, total=2).pk,
        "job": Job.objects.create(organization=org, type="valuation", billable=False).pk,
        "billable_job": Job.objects.create(organization=org, type="valuation", billable=True).pk,
    }
print(json.dumps(out))
"""


def make_tenants(stack: Stack, *names: str, keys: int = 2) -> dict[str, Tenant]:
    """Organisations with `keys` API keys each, created in one manage.py process."""
    output = stack.manage("shell", "-c", _MAKE_TENANTS % repr([(n, keys) for n in names]))
    made = json.loads(output.strip().splitlines()[-1])
    return {
        name: Tenant(
            name=name,
            org_id=v["org_id"],
            key=v["keys"][0],
            extra_keys=v["keys"][1:],
            deal=v["deal"],
            batch=v["batch"],
            job=v["job"],
            billable_job=v["billable_job"],
        )
        for name, v in made.items()
    }


_PUBLISH = """
import json
from events.publish import publish_event
print(json.dumps([publish_event(%d, name, data).id for name, data in %r]))
"""


def publish_in_shell(stack: Stack, org_id: int, events: list[tuple[str, dict[str, Any]]]) -> list[int]:
    """Publish the given (type, data) events from a `manage.py shell` process; their ids."""
    output = stack.manage("shell", "-c", _PUBLISH % (org_id, events))
    return list(json.loads(output.strip().splitlines()[-1]))


def start_publisher(stack: Stack, org_id: int, count: int, **options: Any) -> subprocess.Popen[str]:
    """`python -m bench.publisher` in the stack's environment (a separate "worker" process)."""
    argv = [PYTHON, "-m", "bench.publisher", "--org-id", str(org_id), "--count", str(count)]
    for name, value in options.items():
        argv += [f"--{name.replace('_', '-')}", str(value)]
    return subprocess.Popen(
        argv, cwd=ROOT, env=stack.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def wait_publishers(publishers: list[subprocess.Popen[str]], timeout: float = 60) -> list[dict[str, Any]]:
    results = []
    for publisher in publishers:
        out, err = publisher.communicate(timeout=timeout)
        assert publisher.returncode == 0, err
        results.append(json.loads(out.strip().splitlines()[-1]))
    return results


def stored_events(base_url: str, key: str, **filters: Any) -> list[dict[str, Any]]:
    """Every stored event the key's organisation may see, via the paged event log."""
    params = {"limit": 500, **filters}
    url: str | None = f"{base_url}/api/v1/events/log"
    rows: list[dict[str, Any]] = []
    with httpx.Client(headers={"Authorization": f"Bearer {key}"}, timeout=10) as client:
        while url:
            response = client.get(url, params=params if not rows else None)
            assert response.status_code == 200, response.text
            body = response.json()
            rows += body["results"]
            url = body["next"]
    return rows


_SAMPLE = re.compile(r"^(?P<name>[a-zA-Z_:]+)(?:\{(?P<labels>[^}]*)\})? (?P<value>\S+)$")


def metric(base_url: str, name: str, **labels: str) -> float:
    """The sum of a Prometheus sample's values across series matching `labels`."""
    text = httpx.get(f"{base_url}/metrics", timeout=5).text
    total = 0.0
    for line in text.splitlines():
        match = _SAMPLE.match(line)
        if not match or match["name"] != name:
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', match["labels"] or ""))
        if all(found.get(k) == v for k, v in labels.items()):
            total += float(match["value"])
    return total


def tcp_connections_to(pid: int, port: int) -> int:
    """How many established TCP connections process `pid` holds to a remote `port`."""
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        with contextlib.suppress(OSError):
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as rows:
            next(rows)
            for row in rows:
                fields = row.split()
                remote_port = int(fields[2].rsplit(":", 1)[1], 16)
                if remote_port == port and fields[3] == "01" and fields[9] in inodes:
                    count += 1
    return count


def raw_request(
    base_url: str, path: str, headers: dict[str, str] | None = None, rcvbuf: int = 0
) -> socket.socket:
    """Send a GET on a raw socket and return the socket (the caller reads, or does not)."""
    host, port = base_url.removeprefix("http://").split(":")
    sock = socket.socket()
    if rcvbuf:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.connect((host, int(port)))
    lines = [f"GET {path} HTTP/1.1", f"Host: {host}:{port}", "Accept: text/event-stream"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
    return sock


def wait_until(predicate: Any, timeout: float, interval: float = 0.05, message: str = "") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise AssertionError(message or f"condition not met within {timeout}s")
