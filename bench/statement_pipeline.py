"""Time from uploading a 10,000-transaction CSV statement to its `processing.completed` event.

Starts its own deployment with tests/e2e/stack.py (embedded by default: SQLite, one uvicorn
process running the jobs on its thread pool; `--mode distributed` uses DATABASE_URL/REDIS_URL
with one uvicorn process and one Celery worker), then for each run creates a deal, opens its
SSE feed, uploads the statement and waits for `processing.completed` on the feed:

    .venv/bin/python -m bench.statement_pipeline --runs 15
    .venv/bin/python -m bench.statement_pipeline --runs 15 --mode distributed

Prints one JSON line: median/p90/min/max in ms of
  * `end_to_end`: from sending the upload to receiving `processing.completed` on the stream,
  * `upload`: the `POST …/statements` round trip (202 once the file is stored and the job queued),
  * `pipeline`: from `processing.started` to `processing.completed` (server timestamps),
and the size of the file. The first run is a warm-up and is not counted.
"""

from __future__ import annotations

import argparse
import csv
import datetime
import io
import json
import os
import statistics
import threading
import time
from decimal import Decimal
from typing import Any

import httpx
from httpx_sse import connect_sse

from tests.e2e.stack import Stack, distributed_stack, embedded_stack


def large_csv(transactions: int) -> bytes:
    """A year of a busy account: card settlements in, supplier payments out, running balance."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["Date", "Description", "Amount", "Balance"])
    balance = Decimal("50000.00")
    start = datetime.date(2023, 1, 1)
    for n in range(transactions):
        day = start + datetime.timedelta(days=n * 365 // transactions)
        amount = Decimal("820.00") if n % 3 else Decimal("-1190.00")
        balance += amount
        description = "CARD SETTLEMENT STRIPE" if amount > 0 else f"SUPPLIER PAYMENT {n % 40}"
        writer.writerow([day.isoformat(), description, f"{amount:.2f}", f"{balance:.2f}"])
    return out.getvalue().encode()


def summary(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "median": round(statistics.median(ordered), 1),
        "p90": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.9))], 1),
        "min": round(ordered[0], 1),
        "max": round(ordered[-1], 1),
    }


def one_run(base_url: str, key: str, content: bytes) -> dict[str, float]:
    headers = {"Authorization": f"Bearer {key}"}
    with httpx.Client(base_url=base_url, headers=headers, timeout=60) as client:
        created = client.post("/api/v1/deals", json={"business_name": "Bench Co"})
        if created.status_code != 201:
            raise RuntimeError(f"deal creation refused: {created.status_code} {created.text}")
        deal_id = created.json()["id"]
        events: dict[str, Any] = {}
        subscribed = threading.Event()
        done = threading.Event()

        def listen() -> None:
            with (
                httpx.Client(base_url=base_url, headers=headers, timeout=60) as stream_client,
                connect_sse(stream_client, "GET", f"/api/v1/events/deals/{deal_id}") as source,
            ):
                subscribed.set()
                for sse in source.iter_sse():
                    if not sse.data:  # the opening `retry:` block
                        continue
                    events[sse.event] = (time.perf_counter(), json.loads(sse.data))
                    if sse.event in {"processing.completed", "processing.failed"}:
                        done.set()
                        return

        listener = threading.Thread(target=listen, daemon=True)
        listener.start()
        if not subscribed.wait(10):
            raise RuntimeError("the deal stream did not open")
        started = time.perf_counter()
        response = client.post(f"/api/v1/deals/{deal_id}/statements", files={"file": ("year.csv", content)})
        uploaded = time.perf_counter()
        if response.status_code != 202:
            raise RuntimeError(f"upload refused: {response.status_code} {response.text}")
        if not done.wait(60):
            raise RuntimeError(f"no processing.completed; saw {sorted(events)}")
        listener.join(5)
    if "processing.completed" not in events:
        raise RuntimeError(f"the statement failed: {events['processing.failed'][1]}")
    finished_at, completed = events["processing.completed"]
    first = datetime.datetime.fromisoformat(events["processing.started"][1]["timestamp"])
    last = datetime.datetime.fromisoformat(completed["timestamp"])
    return {
        "end_to_end": (finished_at - started) * 1000,
        "upload": (uploaded - started) * 1000,
        "pipeline": (last - first).total_seconds() * 1000,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--transactions", type=int, default=10_000)
    parser.add_argument("--mode", choices=["embedded", "distributed"], default="embedded")
    args = parser.parse_args()

    content = large_csv(args.transactions)
    env = {"RATE_LIMIT_PER_MINUTE": "100000", "LOG_LEVEL": "WARNING"}
    factory = distributed_stack(**env) if args.mode == "distributed" else embedded_stack(**env)
    with factory as stack:
        base_url = stack.start_web("uvicorn")
        if args.mode == "distributed":
            _start_worker(stack)
        key = stack.create_key("Bench")
        runs = [one_run(base_url, key, content) for _ in range(args.runs + 1)][1:]
    result = {
        "mode": args.mode,
        "runs": args.runs,
        "transactions": args.transactions,
        "file_bytes": len(content),
        "cpu_count": os.cpu_count(),
        **{name: summary([run[name] for run in runs]) for name in ("end_to_end", "upload", "pipeline")},
    }
    print(json.dumps(result))


def _start_worker(stack: Stack) -> None:
    stack.start_worker(concurrency=1)


if __name__ == "__main__":
    main()
