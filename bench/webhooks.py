"""Webhook delivery throughput and publish-to-receipt lag, on the distributed deployment.

Starts PostgreSQL/Redis-backed processes (one uvicorn, one Celery worker with a process per
endpoint, beat), a receiver (one local HTTP server, a path per endpoint), creates `--endpoints`
endpoints subscribed to the published type, then publishes `--count` events at `--rate` from
`--publishers` separate processes (`bench.publisher`, the real publish path) and waits until
every endpoint has every event. Lag is receipt time minus the `sent_at` the publisher stamped
just before publishing.

    DATABASE_URL=postgres://… REDIS_URL=redis://… .venv/bin/python -m bench.webhooks \\
        --endpoints 10 --rate 1000 --count 5000

Prints one JSON object: rates, lag percentiles, duplicates and order violations (both must be 0
except after a worker crash, which this does not cause).
"""

from __future__ import annotations

import argparse
import json
import os
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

from tests.e2e.stack import distributed_stack, free_port
from tests.events.support import make_tenants, start_publisher, wait_publishers


class Receiver:
    """Records `(endpoint, event id, receipt time, sent_at)` for every delivery."""

    def __init__(self) -> None:
        self.port = free_port()
        self.lock = threading.Lock()
        self.rows: list[tuple[int, int, float, float]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                received = time.time()
                endpoint = int(self.path.rsplit("/", 1)[1])
                with receiver.lock:
                    receiver.rows.append((endpoint, body["id"], received, float(body["data"]["sent_at"])))
                self.send_response(204)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        self.server.request_queue_size = 1024
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def count(self) -> int:
        with self.lock:
            return len(self.rows)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process and its children (a Celery worker's pool), so far."""
    total = 0.0
    pids = [pid]
    while pids:
        current = pids.pop()
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
            pids += [
                int(child) for child in Path(f"/proc/{current}/task/{current}/children").read_text().split()
            ]
        except OSError:
            continue
    return total


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] if ordered else float("nan")


def run(args: argparse.Namespace) -> dict[str, Any]:
    receiver = Receiver()
    settings = {"WEBHOOK_ALLOW_PRIVATE_URLS": "1", "RATE_LIMIT_PER_MINUTE": "100000", "LOG_LEVEL": "WARNING"}
    with distributed_stack(**settings) as stack:
        base_url = stack.start_web()
        worker = stack.start_worker(concurrency=args.worker_processes or args.endpoints)
        stack.start_beat()
        tenant = make_tenants(stack, "webhook-bench", keys=1)["webhook-bench"]
        with httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {tenant.key}"}) as api:
            for n in range(args.endpoints):
                created = api.post(
                    "/api/v1/webhooks",
                    json={"url": f"http://127.0.0.1:{receiver.port}/hook/{n}", "event_types": [args.type]},
                )
                created.raise_for_status()
        per_publisher = args.count // args.publishers
        worker_cpu = cpu_seconds(worker.popen.pid)
        started = time.time()
        publishers = [
            start_publisher(
                stack,
                tenant.org_id,
                per_publisher,
                rate=args.rate / args.publishers,
                type=args.type,
                tag=str(p),
            )
            for p in range(args.publishers)
        ]
        published = wait_publishers(publishers, timeout=args.count / max(args.rate, 1) * 4 + 120)
        publish_seconds = time.time() - started
        expected = per_publisher * args.publishers * args.endpoints
        deadline = time.monotonic() + args.timeout
        while receiver.count() < expected and time.monotonic() < deadline:
            time.sleep(0.2)
        finished = time.time()
        worker_cpu = cpu_seconds(worker.popen.pid) - worker_cpu
    with receiver.lock:
        rows = list(receiver.rows)
    lags = [(received - sent_at) * 1000 for _, _, received, sent_at in rows]
    seen: set[tuple[int, int]] = set()
    duplicates = order_violations = 0
    last: dict[int, int] = {}
    for endpoint, event_id, _, _ in sorted(rows, key=lambda row: row[2]):
        if (endpoint, event_id) in seen:
            duplicates += 1
            continue
        seen.add((endpoint, event_id))
        if event_id < last.get(endpoint, 0):
            order_violations += 1
        last[endpoint] = event_id
    last_receipt = max((row[2] for row in rows), default=finished)
    return {
        "endpoints": args.endpoints,
        "events": per_publisher * args.publishers,
        "target_rate": args.rate,
        "publish_rate": round(sum(p["published"] for p in published) / publish_seconds, 1),
        "deliveries_expected": expected,
        "deliveries_received": len(seen),
        "deliveries_per_second": round(len(rows) / max(last_receipt - started, 1e-9), 1),
        "lag_ms_p50": round(percentile(lags, 0.50), 1),
        "lag_ms_p90": round(percentile(lags, 0.90), 1),
        "lag_ms_p99": round(percentile(lags, 0.99), 1),
        "lag_ms_max": round(max(lags, default=float("nan")), 1),
        # Independent of how busy the machine is: the delivery work itself, per delivery.
        "worker_cpu_ms_per_delivery": round(worker_cpu * 1000 / max(len(rows), 1), 2),
        "duplicates": duplicates,
        "order_violations": order_violations,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--endpoints", type=int, default=10)
    parser.add_argument("--count", type=int, default=5000, help="events published in all")
    parser.add_argument(
        "--rate", type=float, default=1000.0, help="events per second, all publishers together"
    )
    parser.add_argument("--publishers", type=int, default=2)
    parser.add_argument(
        "--worker-processes", type=int, default=0, help="Celery processes (default: one per endpoint)"
    )
    parser.add_argument("--type", default="deal.status_changed")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds to wait for the last delivery")
    print(json.dumps(run(parser.parse_args()), indent=2))


if __name__ == "__main__":
    main()
