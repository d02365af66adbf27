"""SSE fan-out benchmark: many subscribers on one organisation feed, events from a Celery worker.

    python -m bench.sse_load                          # every case against Dealstream
    python -m bench.sse_load --target channels        # the plain channels_redis reference
    python -m bench.sse_load --target eventstream     # django-eventstream (DB storage) reference
    python -m bench.sse_load --case fanout1000 --case pubrate
    python -m bench.sse_load --case storm5000         # 5,000 clients reconnecting at once

Needs PostgreSQL and Redis (DATABASE_URL / REDIS_URL, as for the test suite). One web
process (uvicorn) is started and pinned to CPU 0; this load generator and the publisher
run on CPU 1. Dealstream's events come from a real Celery worker running the publisher as
a task (`bench/worker_tasks.py`), through the same `publish_event` as the pipelines; the
references' from a plain process of their own. The generator speaks raw HTTP/1.1 over asyncio streams and only
looks at each event's `data:` line for its `n` (index) and `sent_at` (publish time).

A reconnect storm (`storm…`) reconnects N clients at the same instant with `Last-Event-ID`,
as after a deploy: reported are opens per second, the time until the last one is back, the
median wait, the server's CPU per open, and lost or duplicated events among those published
while the clients were away (replayed) and just after they are back (live).

Reported per case: connect time, publish→receive latency percentiles, deliveries/s, lost
and duplicated events (per connection, against the publisher's count), the server's RSS
growth per connection, and the publisher's achieved rate. Results go to bench/results/.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import resource
import subprocess
import sys
import time
import uuid
from array import array
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import httpx
import psycopg

from tests.e2e.stack import free_port, rss_kb, wait_http

ROOT = Path(__file__).resolve().parents[1]
REFERENCES = ROOT / "bench" / "references"
RESULTS = ROOT / "bench" / "results"
EVENTSTREAM_VENV = REFERENCES / ".venv-eventstream"
SERVER_CPU, CLIENT_CPU = 0, 1

_N = re.compile(rb'"n": ?(\d+)')
_SENT_AT = re.compile(rb'"sent_at": ?([0-9.]+)')


# --- the load generator -----------------------------------------------------------------------


@dataclass
class Connection:
    received: bytearray  # one counter per expected event index
    count: int = 0


@dataclass
class Load:
    """N open SSE connections and what they received."""

    host: str
    port: int
    path: str
    headers: dict[str, str]
    expected: int = 0
    connections: list[Connection] = field(default_factory=list)
    connect_seconds: array = field(default_factory=lambda: array("d"))
    latencies: array = field(default_factory=lambda: array("d"))
    by_event: dict[int, array] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    writers: list[asyncio.StreamWriter] = field(default_factory=list)
    first_receive: float = 0.0
    last_receive: float = 0.0
    # perf_counter() when each connection's 200 arrived (the reconnect storm's clock).
    answered_at: array = field(default_factory=lambda: array("d"))

    def request(self) -> bytes:
        lines = [f"GET {self.path} HTTP/1.1", f"Host: {self.host}:{self.port}", "Accept: text/event-stream"]
        lines += [f"{k}: {v}" for k, v in self.headers.items()]
        return ("\r\n".join(lines) + "\r\n\r\n").encode()

    async def open(self, count: int, concurrency: int = 256) -> None:
        gate = asyncio.Semaphore(concurrency)
        ready: list[asyncio.Future[None]] = []
        loop = asyncio.get_running_loop()
        for _ in range(count):
            future: asyncio.Future[None] = loop.create_future()
            ready.append(future)
            self.tasks.append(loop.create_task(self._run(gate, future)))
        await asyncio.gather(*ready, return_exceptions=True)

    async def _run(self, gate: asyncio.Semaphore, ready: asyncio.Future[None]) -> None:
        async with gate:
            started = time.perf_counter()
            try:
                reader, writer = await asyncio.open_connection(self.host, self.port)
                writer.write(self.request())
                head = await reader.readuntil(b"\r\n\r\n")
            except Exception as exc:
                self.failures.append(repr(exc))
                ready.set_result(None)
                return
            if not head.startswith(b"HTTP/1.1 200"):
                self.failures.append(head.split(b"\r\n", 1)[0].decode())
                ready.set_result(None)
                writer.close()
                return
            answered = time.perf_counter()
            self.connect_seconds.append(answered - started)
            self.answered_at.append(answered)
        connection = Connection(received=bytearray(self.expected))
        self.connections.append(connection)
        self.writers.append(writer)
        ready.set_result(None)
        buffer = b""
        try:
            while chunk := await reader.read(65536):
                buffer += chunk
                cut = buffer.rfind(b"\n")
                if cut < 0:
                    continue
                lines, buffer = buffer[: cut + 1], buffer[cut + 1 :]
                now = time.time()
                for line in lines.split(b"\n"):
                    if not line.startswith(b"data:"):
                        continue
                    n, sent = _N.search(line), _SENT_AT.search(line)
                    if n is None or sent is None:
                        continue
                    index = int(n.group(1))
                    if index < len(connection.received):
                        connection.received[index] = min(255, connection.received[index] + 1)
                    connection.count += 1
                    latency = now - float(sent.group(1))
                    self.latencies.append(latency)
                    per_event = self.by_event.get(index)
                    if per_event is None:
                        per_event = self.by_event[index] = array("d")
                    per_event.append(latency)
                    self.last_receive = now
                    if not self.first_receive:
                        self.first_receive = now
        except (ConnectionError, asyncio.CancelledError):
            pass

    def expect(self, count: int) -> None:
        """Reset counters for a new round of `count` events."""
        self.expected = count
        for connection in self.connections:
            connection.received = bytearray(count)
            connection.count = 0
        self.latencies = array("d")
        self.by_event = {}
        self.first_receive = self.last_receive = 0.0

    async def close(self) -> None:
        for writer in self.writers:
            writer.close()
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)

    def summary(self) -> dict[str, Any]:
        lost = sum(c.received.count(0) for c in self.connections)
        duplicated = sum(max(0, c.count - (len(c.received) - c.received.count(0))) for c in self.connections)
        delivered = sum(c.count for c in self.connections)
        span = (self.last_receive - self.first_receive) or 1e-9
        return {
            "connections": len(self.connections),
            "connect_failures": len(self.failures),
            "connect_ms": percentiles(self.connect_seconds),
            "latency_ms": percentiles(self.latencies),
            "delivered": delivered,
            "deliveries_per_second": round(delivered / span, 1),
            "lost": lost,
            "duplicated": duplicated,
            "slowest_events": self.slowest_events(),
        }

    def slowest_events(self, top: int = 5) -> list[dict[str, float]]:
        """The events whose median latency across connections was worst: spikes or a trend?"""
        rows = []
        for index, values in self.by_event.items():
            ordered = sorted(values)
            rows.append(
                {
                    "n": index,
                    "first_ms": round(ordered[0] * 1000, 1),
                    "median_ms": round(ordered[len(ordered) // 2] * 1000, 1),
                    "last_ms": round(ordered[-1] * 1000, 1),
                }
            )
        rows.sort(key=lambda row: row["median_ms"], reverse=True)
        return rows[:top]


def percentiles(values: array) -> dict[str, float | None]:
    if not values:
        return {"p50": None, "p95": None, "p99": None, "max": None}
    ordered = sorted(values)

    def at(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 2)

    return {"p50": at(0.50), "p95": at(0.95), "p99": at(0.99), "max": round(ordered[-1] * 1000, 2)}


# --- servers under test ---------------------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def delivery_lag(base_url: str) -> dict[str, float] | None:
    """Median and p99 bucket bounds of the server's store→hand-off lag histogram (cumulative)."""
    text = httpx.get(f"{base_url}/metrics", timeout=5).text
    buckets = [
        (float(m.group(1)), float(m.group(2)))
        for m in re.finditer(r'dealstream_delivery_lag_seconds_bucket\{le="([0-9.e+-]+|\+Inf)"\} (\S+)', text)
        if m.group(1) != "+Inf"
    ]
    total = re.search(r"dealstream_delivery_lag_seconds_count (\S+)", text)
    if not buckets or total is None or float(total.group(1)) == 0:
        return None
    count = float(total.group(1))

    def bound(q: float) -> float:
        return next((le * 1000 for le, c in buckets if c >= q * count), float("inf"))

    return {"p50_le": bound(0.5), "p99_le": bound(0.99)}


@dataclass
class Target:
    name: str
    base_url: str
    path: str
    headers: dict[str, str]
    server_pid: int
    publisher_argv: list[str]
    publisher_env: dict[str, str]
    publisher_cwd: Path

    def publisher(self, count: int, rate: float, tag: str, first_n: int = 0) -> subprocess.Popen[str]:
        argv = [*self.publisher_argv, "--count", str(count), "--rate", str(rate), "--tag", tag]
        if first_n:
            argv += ["--first-n", str(first_n)]
        process = subprocess.Popen(
            argv, cwd=self.publisher_cwd, env=self.publisher_env, stdout=subprocess.PIPE, text=True
        )
        with contextlib.suppress(OSError):
            os.sched_setaffinity(process.pid, {CLIENT_CPU})
        return process


def _fresh_database(database_url: str) -> tuple[str, Any]:
    name = f"dealstream_bench_{uuid.uuid4().hex[:8]}"
    admin = urlparse(database_url)._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return urlparse(database_url)._replace(path=f"/{name}").geturl(), drop


def _spawn_server(argv: list[str], env: dict[str, str], cwd: Path, log: Path) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(argv, cwd=cwd, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT)
    with contextlib.suppress(OSError):
        os.sched_setaffinity(process.pid, {SERVER_CPU})
    return process


def _stop(process: subprocess.Popen[Any]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _base_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"DJANGO_SETTINGS_MODULE", "JOB_RUNNER"}}
    env.update(PYTHONUNBUFFERED="1", **extra)
    return env


@contextlib.contextmanager
def dealstream(database_url: str, redis_url: str, workdir: Path) -> Iterator[Target]:
    sys.path.insert(0, str(ROOT))
    from tests.e2e.stack import manage

    url, drop = _fresh_database(database_url)
    env = _base_env(
        DATABASE_URL=url,
        REDIS_URL=redis_url,
        REDIS_PREFIX=f"bench{uuid.uuid4().hex[:6]}",
        APP_ENV="bench",
        LOG_LEVEL="WARNING",
        SSE_MAX_STREAMS_PER_KEY="100000",
        RATE_LIMIT_PER_MINUTE="100000000",
        SSE_MAX_QUEUED_EVENTS="1000",
    )
    try:
        manage(env, "migrate", "--noinput")
        key = manage(env, "createapikey", "--org", "Bench").strip()
        org_id = int(
            manage(
                env,
                "shell",
                "-c",
                "from accounts.models import Organization as O; print(O.objects.get(name='Bench').pk)",
            ).splitlines()[-1]
        )
        worker = _start_publishing_worker(env, workdir / "worker.log")
        port = free_port()
        runner = "bench.gc_probe" if os.environ.get("BENCH_GC_PROBE") else "uvicorn"
        argv = [sys.executable, "-m", runner, "config.asgi:application", "--host", "127.0.0.1"]
        argv += ["--port", str(port), "--backlog", "4096", "--no-server-header", "--log-level", "warning"]
        server = _spawn_server(argv, env, ROOT, workdir / "dealstream.log")
        try:
            base = f"http://127.0.0.1:{port}"
            wait_http(f"{base}/healthz", server)
            yield Target(
                name="dealstream",
                base_url=base,
                path="/api/v1/events",
                headers={"Authorization": f"Bearer {key}"},
                server_pid=server.pid,
                publisher_argv=[sys.executable, "-m", "bench.worker_tasks", "--org-id", str(org_id)],
                publisher_env=env,
                publisher_cwd=ROOT,
            )
        finally:
            _stop(server)
            _stop(worker)
    finally:
        drop()


def _start_publishing_worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """A Celery worker (one process, on the load generator's core) that runs the bursts."""
    argv = [sys.executable, "-m", "celery", "-A", "config", "worker", "--include", "bench.worker_tasks"]
    argv += ["--pool", "solo", "--queues", env["REDIS_PREFIX"], "--without-gossip", "--without-mingle"]
    argv += ["--loglevel", "INFO"]
    worker = subprocess.Popen(
        argv, cwd=ROOT, env={**env, "LOG_LEVEL": "INFO"}, stdout=log.open("wb"), stderr=subprocess.STDOUT
    )
    with contextlib.suppress(OSError):
        os.sched_setaffinity(worker.pid, {CLIENT_CPU})
    deadline = time.monotonic() + 60
    while "ready." not in log.read_text(errors="replace"):
        if worker.poll() is not None or time.monotonic() > deadline:
            _stop(worker)
            raise RuntimeError(
                f"the publishing Celery worker did not start:\n{log.read_text(errors='replace')}"
            )
        time.sleep(0.2)
    return worker


@contextlib.contextmanager
def channels_reference(database_url: str, redis_url: str, workdir: Path) -> Iterator[Target]:
    project = REFERENCES / "channels_group"
    env = _base_env(
        REDIS_URL=redis_url,
        REDIS_PREFIX=f"benchref{uuid.uuid4().hex[:6]}",
        DJANGO_SETTINGS_MODULE="settings",
        PYTHONPATH=str(project),
    )
    port = free_port()
    argv = [sys.executable, "-m", "uvicorn", "asgi:application", "--host", "127.0.0.1", "--port", str(port)]
    argv += ["--backlog", "4096", "--no-server-header", "--log-level", "warning"]
    server = _spawn_server(argv, env, project, workdir / "channels.log")
    try:
        base = f"http://127.0.0.1:{port}"
        wait_http(f"{base}/healthz", server)
        yield Target(
            name="channels",
            base_url=base,
            path="/events",
            headers={},
            server_pid=server.pid,
            publisher_argv=[sys.executable, "publisher.py"],
            publisher_env=env,
            publisher_cwd=project,
        )
    finally:
        _stop(server)


@contextlib.contextmanager
def eventstream_reference(database_url: str, redis_url: str, workdir: Path) -> Iterator[Target]:
    project = REFERENCES / "eventstream_db"
    python = EVENTSTREAM_VENV / "bin" / "python"
    if not python.exists():
        raise SystemExit("Run `python -m bench.sse_load --setup-references` first.")
    url, drop = _fresh_database(database_url)
    env = _base_env(
        DATABASE_URL=url, REDIS_URL=redis_url, DJANGO_SETTINGS_MODULE="settings", PYTHONPATH=str(project)
    )
    try:
        subprocess.run(
            [
                str(python),
                "-c",
                "import django; django.setup(); from django.core.management import call_command; call_command('migrate', verbosity=0)",
            ],
            cwd=project,
            env=env,
            check=True,
        )
        port = free_port()
        argv = [str(python), "-m", "uvicorn", "asgi:application", "--host", "127.0.0.1", "--port", str(port)]
        argv += ["--backlog", "4096", "--no-server-header", "--log-level", "warning"]
        server = _spawn_server(argv, env, project, workdir / "eventstream.log")
        try:
            base = f"http://127.0.0.1:{port}"
            wait_http(f"{base}/healthz", server)
            yield Target(
                name="eventstream",
                base_url=base,
                path="/events",
                headers={},
                server_pid=server.pid,
                publisher_argv=[str(python), "publisher.py"],
                publisher_env=env,
                publisher_cwd=project,
            )
        finally:
            _stop(server)
    finally:
        drop()


TARGETS = {"dealstream": dealstream, "channels": channels_reference, "eventstream": eventstream_reference}


def setup_references() -> None:
    if not EVENTSTREAM_VENV.exists():
        subprocess.run([sys.executable, "-m", "venv", str(EVENTSTREAM_VENV)], check=True)
    subprocess.run(
        [
            str(EVENTSTREAM_VENV / "bin" / "pip"),
            "install",
            "-q",
            "django==5.2.19",
            "django-eventstream==5.3.4",
            "uvicorn[standard]==0.38.0",
            "psycopg[binary]==3.2.12",
            "redis==6.4.0",
            "dj-database-url==3.0.1",
        ],
        check=True,
    )


# --- cases ------------------------------------------------------------------------------------


async def run_round(
    target: Target, subscribers: int, rate: float, count: int, tag: str, measure_memory: bool = False
) -> dict[str, Any]:
    parsed = urlparse(target.base_url)
    load = Load(parsed.hostname or "127.0.0.1", parsed.port or 80, target.path, target.headers)
    load.expect(count)
    rss_before = rss_kb(target.server_pid)
    opened = time.perf_counter()
    await load.open(subscribers)
    connect_all = time.perf_counter() - opened
    await asyncio.sleep(2.0 if measure_memory else 1.0)  # let the server settle (and the hub activate)
    rss_connected = rss_kb(target.server_pid)
    server_cpu, own_cpu = cpu_seconds(target.server_pid), time.process_time()
    publish_started = time.monotonic()
    publisher = target.publisher(count, rate, tag)
    loop = asyncio.get_running_loop()
    output = await loop.run_in_executor(None, publisher.communicate)
    published = json.loads(output[0].strip().splitlines()[-1])
    # Wait for the tail: until every connection has everything, or nothing moved for 3 s.
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if all(c.count >= count for c in load.connections):
            break
        before = sum(c.count for c in load.connections)
        await asyncio.sleep(1.0)
        if sum(c.count for c in load.connections) == before and time.time() - load.last_receive > 3:
            break
    rss_after = rss_kb(target.server_pid)
    lag = delivery_lag(target.base_url) if target.name == "dealstream" else None
    busy = max(1e-9, time.monotonic() - publish_started)
    server_cpu = (cpu_seconds(target.server_pid) - server_cpu) / busy
    own_cpu = (time.process_time() - own_cpu) / busy
    result = load.summary()
    await load.close()
    result.update(
        target=target.name,
        subscribers=subscribers,
        events=count,
        rate=rate,
        publisher=published,
        connect_all_seconds=round(connect_all, 2),
        server_rss_kb={"before": rss_before, "connected": rss_connected, "after": rss_after},
        rss_per_connection_kb=round((rss_connected - rss_before) / max(1, len(load.connections)), 1),
        cpu={"server": round(server_cpu, 2), "load_generator": round(own_cpu, 2)},
        server_delivery_lag_ms=lag,
    )
    return result


CASES = {
    # name: (subscribers, events per second, seconds)
    "fanout1000": (1000, 20, 15),
    "fanout100": (100, 50, 15),
    # django-eventstream holds a database connection per stream: PostgreSQL's default
    # max_connections (100) caps it below 100 subscribers, so it is compared here.
    "fanout50": (50, 50, 15),
    "idle10k": (10_000, 1, 30),
    "pubrate10": (10, 500, 10),
    "pubrate1000": (1000, 500, 10),
}


#: Reconnect storms: N clients reconnecting at once with `Last-Event-ID`.
STORM_CASES = {"storm1000": 1000, "storm5000": 5000, "storm10k": 10_000}
#: Events published while the storm's clients are away (each must be replayed to every one)
#: and once they are all back (each must arrive live).
STORM_MISSED, STORM_LIVE = 10, 10


def newest_event_id(target: Target) -> int:
    """The newest stored id of the target's organisation, from the polling log."""
    after = 0
    headers = target.headers
    while True:
        page = httpx.get(
            f"{target.base_url}/api/v1/events/log", params={"after": after, "limit": 500}, headers=headers
        ).json()
        if not page["results"]:
            return after
        after = page["results"][-1]["id"]
        if page["next"] is None:
            return int(after)


async def run_storm(target: Target, clients: int) -> dict[str, Any]:
    """N clients, away while events were published, all reconnect at once with `Last-Event-ID`.

    Every client must get the missed events (replay) and then the ones published once all
    are back (live): exactly once each.
    """
    if target.name != "dealstream":
        raise SystemExit("The reconnect storm needs Last-Event-ID resume: Dealstream only.")
    loop = asyncio.get_running_loop()
    position = await loop.run_in_executor(None, newest_event_id, target)
    missed = target.publisher(STORM_MISSED, 100, "storm-missed")
    output = await loop.run_in_executor(None, missed.communicate)
    json.loads(output[0].strip().splitlines()[-1])
    parsed = urlparse(target.base_url)
    headers = {**target.headers, "Last-Event-ID": str(position)}
    load = Load(parsed.hostname or "127.0.0.1", parsed.port or 80, target.path, headers)
    load.expect(STORM_MISSED + STORM_LIVE)
    server_cpu = cpu_seconds(target.server_pid)
    started = time.perf_counter()
    # Everyone at once: the kernel's accept backlog (4,096) is the only queue.
    await load.open(clients, concurrency=clients)
    back = time.perf_counter() - started
    open_cpu = cpu_seconds(target.server_pid) - server_cpu
    # The live half: the publisher's `n` continues after the replayed ones.
    live = target.publisher(STORM_LIVE, 50, "storm-live", first_n=STORM_MISSED)
    await loop.run_in_executor(None, live.communicate)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not all(
        c.count >= STORM_MISSED + STORM_LIVE for c in load.connections
    ):
        await asyncio.sleep(0.5)
    waits = sorted(at - started for at in load.answered_at)
    result = load.summary()
    await load.close()
    opened = len(waits)
    result.update(
        target=target.name,
        clients=clients,
        opens_per_second=round(opened / back, 1) if back else None,
        last_back_seconds=round(waits[-1], 2) if waits else None,
        median_wait_seconds=round(waits[len(waits) // 2], 2) if waits else None,
        server_cpu_ms_per_open=round(open_cpu * 1000 / max(1, opened), 2),
    )
    return result


def load_average() -> float:
    return os.getloadavg()[0]


async def wait_for_quiet(threshold: float, patience: float) -> float:
    """Wait (up to `patience` seconds) for the machine's 1-minute load to drop below `threshold`.

    Other work on this small machine (test suites, builds) shows up directly as latency.
    """
    deadline = time.monotonic() + patience
    while load_average() >= threshold and time.monotonic() < deadline:
        await asyncio.sleep(5)
    return load_average()


async def run_cases(target: Target, cases: list[str], quiet: float, patience: float) -> list[dict[str, Any]]:
    results = []
    # Warm up: start the server's hub / layer connections and JIT-free paths once.
    await run_round(target, 5, 20, 20, "warmup")
    for name in cases:
        load_before = await wait_for_quiet(quiet, patience)
        if name in STORM_CASES:
            result = await run_storm(target, STORM_CASES[name])
        else:
            subscribers, rate, seconds = CASES[name]
            result = await run_round(
                target, subscribers, rate, int(rate * seconds), name, measure_memory=name == "idle10k"
            )
        result["case"] = name
        result["load_average"] = {"before": round(load_before, 2), "after": round(load_average(), 2)}
        results.append(result)
        print(json.dumps(result), flush=True)
        await asyncio.sleep(2)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--target", choices=sorted(TARGETS), default="dealstream")
    parser.add_argument(
        "--case", action="append", choices=sorted([*CASES, *STORM_CASES]), help="default: all"
    )
    parser.add_argument("--setup-references", action="store_true", help="create the django-eventstream venv")
    parser.add_argument(
        "--quiet", type=float, default=1.0, help="wait for the 1-min load average to drop below this"
    )
    parser.add_argument(
        "--patience", type=float, default=300, help="seconds to wait for a quiet machine per case"
    )
    args = parser.parse_args()
    if args.setup_references:
        setup_references()
        return

    database_url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/dealstream")
    redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # children inherit it
    with contextlib.suppress(OSError):
        os.sched_setaffinity(0, {CLIENT_CPU})
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass

    RESULTS.mkdir(parents=True, exist_ok=True)
    workdir = RESULTS / f"{args.target}-{time.strftime('%Y%m%d-%H%M%S')}"
    workdir.mkdir()
    cases = args.case or [*CASES, "storm5000"]
    with TARGETS[args.target](database_url, redis_url, workdir) as target:
        results = asyncio.run(run_cases(target, cases, args.quiet, args.patience))
    machine = {"nproc": os.cpu_count(), "python": sys.version.split()[0], "date": time.strftime("%Y-%m-%d")}
    with open("/proc/meminfo") as meminfo:
        machine["mem_total_kb"] = int(meminfo.readline().split()[1])
    (workdir / "results.json").write_text(json.dumps({"machine": machine, "results": results}, indent=2))
    print(f"results: {workdir / 'results.json'}")
    for r in results:
        if r["case"] in STORM_CASES:
            print(
                f"{r['case']:12} clients={r['clients']} back={r['connections']} opens/s={r['opens_per_second']} "
                f"last back={r['last_back_seconds']} s median wait={r['median_wait_seconds']} s "
                f"cpu/open={r['server_cpu_ms_per_open']} ms failures={r['connect_failures']} "
                f"lost={r['lost']} dup={r['duplicated']} load={r['load_average']}"
            )
            continue
        print(
            f"{r['case']:12} subs={r['connections']:>5} lost={r['lost']} dup={r['duplicated']} "
            f"p50={r['latency_ms']['p50']} p99={r['latency_ms']['p99']} max={r['latency_ms']['max']} ms "
            f"deliv/s={r['deliveries_per_second']} pub={r['publisher']['rate']}/s "
            f"rss/conn={r['rss_per_connection_kb']} KB connect={r['connect_all_seconds']} s cpu={r['cpu']} "
            f"load={r['load_average']}"
        )


if __name__ == "__main__":
    main()
