"""Latency and throughput of `POST /api/v1/value-decision` (overrideProduct) against one web process.

Starts its own deployment with tests/e2e/stack.py (embedded by default: SQLite, one
uvicorn process; `--mode distributed` uses DATABASE_URL/REDIS_URL), creates an API key,
warms up, then sends `--requests` valuations from `--concurrency` keep-alive clients:

    .venv/bin/python -m bench.valuations --requests 1000 --concurrency 1
    .venv/bin/python -m bench.valuations --requests 1000 --concurrency 8

Prints one JSON line: p50/p90/p99/max latency in ms, requests per second, errors, and the
same figures for `GET /api/v1/valuations?limit=1` (the request path without the valuation).
The rate limit is raised for the run (RATE_LIMIT_PER_MINUTE) so it measures the work,
not the limiter's 429s; the limiter's own bookkeeping still runs on every request.
"""

from __future__ import annotations

import argparse
import json
import statistics
import threading
import time
from typing import Any

import httpx

from tests.e2e.stack import Stack, distributed_stack, embedded_stack

MATERIALS = [
    [{"name": "wool", "percentage": 80}, {"name": "polyamide", "percentage": 20}],
    [{"name": "organic cotton", "percentage": 100}],
    [{"name": "recycled polyester", "percentage": 60}, {"name": "cotton", "percentage": 40}],
    [{"name": "leather", "percentage": 100}],
]
PRODUCTS = [
    ("Patagonia", "Wool coat", "coat"),
    ("Levi's", "501 jeans", "jeans"),
    ("Zara", "Tee", "t-shirt"),
    ("", "Tote", "bag"),
]


def request_body(n: int) -> dict[str, Any]:
    """A different but valid product for request `n`."""
    brand, name, category = PRODUCTS[n % len(PRODUCTS)]
    return {
        "url": f"https://shop.example/product/{n}",
        "overrideProduct": {
            "brand": brand or None,
            "name": name,
            "category": category,
            "price": 20 + (n * 7) % 400,
            "currency": "USD",
            "materials": MATERIALS[n % len(MATERIALS)],
        },
        "client": {"id": f"bench-{n % 10}", "surface": "bench", "version": "1.0.0"},
    }


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    index = min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))
    return ordered[index]


def run(
    base_url: str, key: str, requests: int, concurrency: int, *, baseline: bool = False
) -> dict[str, Any]:
    """Send `requests` valuations (or, with `baseline`, a one-row list of stored valuations)."""
    latencies: list[float] = []
    errors: list[int] = []
    lock = threading.Lock()
    counter = iter(range(requests))

    def client_loop() -> None:
        headers = {"Authorization": f"Bearer {key}"}
        with httpx.Client(base_url=base_url, headers=headers, timeout=30) as client:
            while True:
                with lock:
                    n = next(counter, None)
                if n is None:
                    return
                started = time.perf_counter()
                if baseline:
                    response = client.get("/api/v1/valuations", params={"limit": 1})
                else:
                    response = client.post("/api/v1/value-decision", json=request_body(n))
                elapsed = time.perf_counter() - started
                with lock:
                    latencies.append(elapsed)
                    if response.status_code != 200:
                        errors.append(response.status_code)

    threads = [threading.Thread(target=client_loop) for _ in range(concurrency)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    return {
        "requests": len(latencies),
        "concurrency": concurrency,
        "errors": len(errors),
        "error_statuses": sorted(set(errors)),
        "p50_ms": round(percentile(latencies, 0.50) * 1000, 2),
        "p90_ms": round(percentile(latencies, 0.90) * 1000, 2),
        "p99_ms": round(percentile(latencies, 0.99) * 1000, 2),
        "max_ms": round(max(latencies) * 1000, 2),
        "mean_ms": round(statistics.fmean(latencies) * 1000, 2),
        "requests_per_second": round(len(latencies) / wall, 1),
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--mode", choices=["embedded", "distributed"], default="embedded")
    parser.add_argument("--server", choices=["uvicorn", "daphne"], default="uvicorn")
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--warmup", type=int, default=50)
    args = parser.parse_args(argv)

    env = {"RATE_LIMIT_PER_MINUTE": "1000000", "LOG_LEVEL": "WARNING"}
    deployment = embedded_stack(**env) if args.mode == "embedded" else distributed_stack(**env)
    with deployment as stack:
        assert isinstance(stack, Stack)
        base_url = stack.start_web(args.server)
        key = stack.create_key(org="Bench Org")
        run(base_url, key, args.warmup, 1)
        result = run(base_url, key, args.requests, args.concurrency)
        # The floor of this harness on this machine: an authenticated DRF GET with one query
        # (auth, rate limit, middleware, one SELECT), to tell the valuation's own cost apart.
        floor = run(base_url, key, args.requests, args.concurrency, baseline=True)
    result.update(mode=args.mode, server=args.server, web_processes=1)
    result["baseline_list_one"] = {k: floor[k] for k in ("p50_ms", "p99_ms", "requests_per_second")}
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
