"""The clients of the fault drills: feed readers that resume like EventSource and a writer that
creates deals and uploads statements, both failing over between web processes.

A drill runs them while it breaks something, then checks the operations contract of the issue
with `assert_contract`: every acknowledged event on every open feed exactly once, in order;
every 201/202-acknowledged object present and its job terminal within its bound; no 500.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

import httpcore
import httpx

from events.catalogue import DEAL, ORG, feeds_of
from tests.events.support import SSEStream, stored_events
from tests.jobs.factories import healthy_csv

#: What a client may see from a web process that is going away, or already gone: it tries another.
CONNECTION_ERRORS = (httpx.TransportError, httpcore.NetworkError, httpcore.RemoteProtocolError)
#: The `retry:` an EventSource uses before the server sent one (the WHATWG default is
#: browser-defined; the server's first line sets 3000 anyway).
DEFAULT_RETRY_MILLISECONDS = 3000


class FeedReader(threading.Thread):
    """Follows one feed as an EventSource does, from the feed's start (`Last-Event-ID: 0`).

    It prefers `bases[prefer]`; a refused connection sends it to the next process at once (as a
    load balancer would). After a stream ends or breaks it waits the last `retry:` the server
    sent, then reconnects with `Last-Event-ID`.
    """

    def __init__(self, bases: list[str], path: str, key: str, prefer: int = 0) -> None:
        super().__init__(daemon=True)
        self.bases = bases
        self.path = path
        self.key = key
        self.prefer = prefer
        self.received: list[int] = []
        self.refusals: list[str] = []  # a non-200 answer to a stream open, or a stream.reset
        #: Seconds from a stream ending or breaking to the next one answering 200.
        self.outages: list[float] = []
        self.streams = 0
        self.stopping = threading.Event()
        self.retry_seconds = DEFAULT_RETRY_MILLISECONDS / 1000

    def run(self) -> None:
        lost_at: float | None = None
        attempt = 0
        while not self.stopping.is_set():
            base = self.bases[(self.prefer + attempt) % len(self.bases)]
            try:
                last = self.received[-1] if self.received else 0
                with SSEStream(f"{base}{self.path}", self.key, last_event_id=last, read_timeout=3) as stream:
                    if stream.status_code != 200:
                        self.refusals.append(f"{base}: {stream.status_code} {stream.response.read()[:200]!r}")
                        attempt += 1
                        time.sleep(0.5)
                        continue
                    self.streams += 1
                    attempt = 0
                    if lost_at is not None:
                        self.outages.append(time.monotonic() - lost_at)
                        lost_at = None
                    for frame in stream.frames():
                        if frame.retry is not None:
                            self.retry_seconds = frame.retry / 1000
                        if frame.event == "stream.reset":
                            self.refusals.append(f"stream.reset {frame.data}")
                        elif frame.event is not None and frame.id is not None:
                            self.received.append(frame.id)
                        if self.stopping.is_set():
                            return
            except httpx.ConnectError:
                attempt += 1  # nobody listens on that port (yet): the next process, at once
                lost_at = lost_at or time.monotonic()
                time.sleep(0.05)
                continue
            except (*CONNECTION_ERRORS, httpx.ReadTimeout):
                pass  # the process died under the stream: reconnect after `retry:`, as EventSource does
            lost_at = lost_at or time.monotonic()
            self.stopping.wait(self.retry_seconds)

    def stop(self) -> None:
        self.stopping.set()
        self.join(timeout=10)
        assert not self.is_alive(), f"the reader of {self.path} did not stop"


@dataclass
class Upload:
    deal_id: int
    statement_id: int
    job_id: str
    acknowledged_at: float


@dataclass(eq=False)  # a thread is a dict key in threading's bookkeeping: identity hash
class Writer(threading.Thread):
    """Creates a deal and uploads a statement into it, again and again, each POST with an
    `Idempotency-Key` so a retry on another process after a broken connection is safe.

    Every answer's status is kept; an object counts as acknowledged once a 201/202 named it.
    """

    bases: list[str]
    key: str
    pause: float = 0.5
    #: Every `watch_every`-th round also uploads a statement to `watched_deal`.
    watched_deal: int | None = None
    watch_every: int = 4
    statuses: list[int] = field(default_factory=list)
    deals: list[int] = field(default_factory=list)
    uploads: list[Upload] = field(default_factory=list)
    unacknowledged: list[str] = field(default_factory=list)
    stopping: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        super().__init__(daemon=True)
        self._clients = [
            httpx.Client(base_url=base, headers={"Authorization": f"Bearer {self.key}"}, timeout=15)
            for base in self.bases
        ]

    def run(self) -> None:
        round_ = 0
        while not self.stopping.is_set():
            round_ += 1
            created = self.post(
                f"deal-{round_}", 201, "/api/v1/deals", json={"business_name": f"Drill {round_}"}
            )
            if created is not None:
                self.deals.append(created["id"])
                self.upload(created["id"], f"statement-{round_}")
            if self.watched_deal is not None and round_ % self.watch_every == 0:
                self.upload(self.watched_deal, f"watched-{round_}")
            self.stopping.wait(self.pause)
        for client in self._clients:
            client.close()

    def upload(self, deal_id: int, idempotency_key: str) -> None:
        files = {"file": (f"{idempotency_key}.csv", healthy_csv())}
        accepted = self.post(idempotency_key, 202, f"/api/v1/deals/{deal_id}/statements", files=files)
        if accepted is not None:
            self.uploads.append(
                Upload(deal_id, accepted["statement_id"], accepted["job_id"], time.monotonic())
            )

    def post(self, idempotency_key: str, expected: int, path: str, **kwargs: Any) -> dict[str, Any] | None:
        """POST until some process answers, trying the processes in turn; the body of `expected`."""
        deadline = time.monotonic() + 10
        attempt = 0
        while time.monotonic() < deadline:
            client = self._clients[attempt % len(self._clients)]
            attempt += 1
            try:
                response = client.post(path, headers={"Idempotency-Key": idempotency_key}, **kwargs)
            except CONNECTION_ERRORS:
                time.sleep(0.05)
                continue
            self.statuses.append(response.status_code)
            if response.status_code == expected:
                return dict(response.json())
            if response.status_code in {409, 503}:
                # 409: the first try is still running (or died holding the key); 503: a
                # dependency is away. Both say "try again later".
                time.sleep(0.5)
                continue
            break
        self.unacknowledged.append(idempotency_key)
        return None

    def stop(self) -> None:
        self.stopping.set()
        self.join(timeout=60)
        assert not self.is_alive(), "the writer did not stop"


def wait_for_jobs(base_url: str, key: str, uploads: list[Upload], bound_seconds: float) -> dict[str, float]:
    """Poll every acknowledged upload's job until it is terminal; seconds from 202 to terminal.

    Fails when a job is not terminal `bound_seconds` after its upload was acknowledged.
    """
    ended: dict[str, float] = {}
    pending = {upload.job_id: upload for upload in uploads}
    with httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {key}"}, timeout=10) as client:
        while pending:
            for job_id, upload in list(pending.items()):
                response = client.get(f"/api/v1/jobs/{job_id}")
                assert response.status_code == 200, response.text
                if response.json()["status"] in {"completed", "failed", "canceled"}:
                    ended[job_id] = time.monotonic() - upload.acknowledged_at
                    del pending[job_id]
                else:
                    waited = time.monotonic() - upload.acknowledged_at
                    assert waited < bound_seconds, f"{job_id} not terminal {waited:.0f} s after its 202"
            time.sleep(0.3)
    return ended


def feed_events(base_url: str, key: str, path: str) -> list[int]:
    """The ids of the stored events that the feed at `path` carries (org or one deal's feed)."""
    rows = stored_events(base_url, key)
    if path == "/api/v1/events":
        return [row["id"] for row in rows if ORG in feeds_of(row["type"])]
    deal_id = int(path.removeprefix("/api/v1/events/deals/"))
    return [
        row["id"] for row in rows if DEAL in feeds_of(row["type"]) and row["data"].get("deal_id") == deal_id
    ]


def wait_for_feed(reader: FeedReader, want: list[int], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while len(reader.received) < len(want) and time.monotonic() < deadline:
        time.sleep(0.1)


@dataclass
class Outcome:
    """The figures a drill prints (docs/operations.md cites them)."""

    deals: int
    uploads: int
    events: int
    slowest_job_seconds: float
    slowest_reconnect_seconds: float


def assert_contract(
    base_url: str,
    key: str,
    writer: Writer,
    readers: list[FeedReader],
    job_bound_seconds: float,
    allowed_statuses: frozenset[int] = frozenset({201, 202}),
) -> Outcome:
    """The contract, after the fault: call once the writer has stopped."""
    assert set(writer.statuses) <= allowed_statuses, sorted(set(writer.statuses))
    assert 500 not in writer.statuses
    # Every acknowledged object is there, each once.
    with httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {key}"}, timeout=10) as client:
        for deal_id in writer.deals:
            assert client.get(f"/api/v1/deals/{deal_id}").status_code == 200
        statements: dict[int, dict[str, Any]] = {}
        for deal_id in {upload.deal_id for upload in writer.uploads}:
            deal = client.get(f"/api/v1/deals/{deal_id}").json()
            statements.update({s["id"]: s for s in deal["statements"]})
    assert len(set(writer.deals)) == len(writer.deals)
    assert {u.statement_id for u in writer.uploads} <= set(statements)
    ended = wait_for_jobs(base_url, key, writer.uploads, job_bound_seconds)
    # Every acknowledged event, on every feed that was open, once and in order.
    for reader in readers:
        wait_for_feed(reader, feed_events(base_url, key, reader.path))
    for reader in readers:
        reader.stop()
        want = feed_events(base_url, key, reader.path)
        assert reader.refusals == [], reader.refusals
        if reader.received != want:
            missing = set(want) - set(reader.received)
            details = [row for row in stored_events(base_url, key) if row["id"] in missing][:20]
            raise AssertionError((reader.path, _difference(reader.received, want), details))
    org_feed = stored_events(base_url, key)
    created = [row["data"]["deal_id"] for row in org_feed if row["type"] == "deal.created"]
    assert sorted(created) == sorted(set(created))
    assert set(writer.deals) <= set(created)
    completed = [
        row["data"]["statement_id"]
        for row in org_feed
        if row["type"] in {"processing.completed", "processing.failed"}
    ]
    assert sorted(completed) == sorted(set(completed))  # each statement processed once
    assert {u.statement_id for u in writer.uploads} <= set(completed)
    return Outcome(
        deals=len(writer.deals),
        uploads=len(writer.uploads),
        events=len(org_feed),
        slowest_job_seconds=max(ended.values(), default=0.0),
        slowest_reconnect_seconds=max((o for r in readers for o in r.outages), default=0.0),
    )


def _difference(received: list[int], want: list[int]) -> str:
    missing = sorted(set(want) - set(received))
    repeated = sorted({i for i in received if received.count(i) > 1})
    out_of_order = received != sorted(received)
    return f"missing {missing[:20]}, repeated {repeated[:20]}, out of order: {out_of_order}"
