"""Stream opens in-process: N resuming opens of the organisation feed through the real ASGI app.

    DATABASE_URL=postgres://… REDIS_URL=redis://… python -m bench.opens --clients 400 --rounds 5

What one open costs without a network or a load generator competing for the CPU: each
round opens `--clients` streams of `/api/v1/events` at once with `Last-Event-ID`, as after a
deploy, waits until every one has its `200` and the events it missed (replayed), then closes
them. Reported per round: the process's CPU time per open (every thread: the event loop and
the executor's) and opens per second. The process is the same application uvicorn runs
(`config.asgi:application`, PostgreSQL, Redis), so profilers and instruction counters can
look at an open on its own (`py-spy record -- python -m bench.opens`, `perf stat`).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
import uuid
from typing import Any

MISSED = 10


def _configure() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("REDIS_PREFIX", f"benchopens{uuid.uuid4().hex[:6]}")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ.setdefault("SSE_MAX_STREAMS_PER_KEY", "100000")
    os.environ.setdefault("RATE_LIMIT_PER_MINUTE", "100000000")
    os.environ.setdefault("JOB_RUNNER", "inline")


async def open_one(application: Any, raw_key: str, position: int, opened: list[float]) -> asyncio.Event:
    """Open one resuming stream; the returned event is set once its replay has arrived."""
    replayed = asyncio.Event()
    leave = asyncio.Event()
    body = bytearray()
    started = time.perf_counter()

    async def receive() -> dict[str, Any]:
        if not hasattr(receive, "sent"):
            receive.sent = True  # type: ignore[attr-defined]
            return {"type": "http.request", "body": b"", "more_body": False}
        await leave.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            if message["status"] != 200:
                raise RuntimeError(f"open answered {message['status']}")
            opened.append(time.perf_counter() - started)
        elif message["type"] == "http.response.body":
            body.extend(message.get("body", b""))
            if body.count(b"\nid: ") >= MISSED:
                replayed.set()

    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/api/v1/events",
        "raw_path": b"/api/v1/events",
        "root_path": "",
        "query_string": b"",
        "headers": [
            (b"host", b"127.0.0.1:8000"),
            (b"accept", b"text/event-stream"),
            (b"authorization", f"Bearer {raw_key}".encode()),
            (b"last-event-id", str(position).encode()),
        ],
        "client": ("127.0.0.1", 40000),
        "server": ("127.0.0.1", 8000),
    }
    task = asyncio.ensure_future(application(scope, receive, send))
    replayed.task = task  # type: ignore[attr-defined]
    replayed.leave = leave  # type: ignore[attr-defined]
    return replayed


async def storm(application: Any, raw_key: str, position: int, clients: int) -> dict[str, float]:
    opened: list[float] = []
    cpu, wall = time.process_time(), time.perf_counter()
    handles = [await open_one(application, raw_key, position, opened) for _ in range(clients)]
    await asyncio.wait_for(asyncio.gather(*(h.wait() for h in handles)), timeout=120)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    for handle in handles:
        handle.leave.set()  # type: ignore[attr-defined]
    await asyncio.gather(*(h.task for h in handles))  # type: ignore[attr-defined]
    return {"cpu_ms_per_open": cpu * 1000 / clients, "opens_per_second": clients / wall}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--clients", type=int, default=400)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=50)
    args = parser.parse_args()
    _configure()
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

    try:
        import uvloop

        uvloop.install()  # what uvicorn runs on when it is installed
    except ImportError:
        pass

    import django

    django.setup()
    from accounts.models import ApiKey, Organization
    from config.asgi import application
    from events.publish import publish_event

    organization = Organization.objects.create(name=f"Opens {uuid.uuid4().hex[:6]}")
    _key, raw_key = ApiKey.create_key(organization, name="opens", scopes=None)
    position = publish_event(organization.pk, "deal.created", {"deal_id": 1, "n": -1}).id
    for n in range(MISSED):
        publish_event(organization.pk, "deal.created", {"deal_id": 1, "n": n})
    from django.db import connections

    connections.close_all()

    async def run() -> list[dict[str, float]]:
        await storm(application, raw_key, position, args.warmup)
        results = []
        for _ in range(args.rounds):
            result = await storm(application, raw_key, position, args.clients)
            print(
                f"clients={args.clients} cpu/open={result['cpu_ms_per_open']:.2f} ms "
                f"opens/s={result['opens_per_second']:.0f} load={os.getloadavg()[0]:.2f}",
                flush=True,
            )
            results.append(result)
        return results

    results = asyncio.run(run())
    cpu = statistics.median(r["cpu_ms_per_open"] for r in results)
    rate = statistics.median(r["opens_per_second"] for r in results)
    print(f"median cpu/open={cpu:.2f} ms opens/s={rate:.0f}")


if __name__ == "__main__":
    main()
