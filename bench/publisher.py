"""Publish events through the real path (`publish_event`: store, commit, fan out) from its own process.

Used by the end-to-end tests and the SSE benchmark as "a worker" publishing:

    python -m bench.publisher --org-id 3 --count 600 --rate 20 --type deal.status_changed

Each event's data carries `sent_at` (epoch seconds taken just before the publish) so a
receiver can measure publish-to-receive latency, plus `n` (its index) and `tag`.
Prints one JSON line: how many were published, in how long, at what rate.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import time
from typing import Any


def event_data(event_type: str, args: argparse.Namespace, n: int) -> dict[str, Any]:
    data: dict[str, Any] = {"n": n, "tag": args.tag}
    if event_type in {"status", "progress", "completed", "failed", "canceled", "usage"}:
        data.update(job_id=args.job_id, status=event_type, progress=min(1.0, n / max(args.count, 1)))
    elif event_type.startswith("batch."):
        data.update(
            batch_id=args.batch_id, document_id=f"doc_{n}", status="ok", progress=f"{n + 1}/{args.count}"
        )
    else:
        data.update(deal_id=args.deal_id, old_status="processing", new_status="processing", progress=n)
    if args.pad:
        data["pad"] = "x" * args.pad
    return data


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--org-id", type=int, required=True)
    parser.add_argument("--count", type=int, default=100)
    parser.add_argument("--rate", type=float, default=0.0, help="events per second; 0: as fast as possible")
    parser.add_argument("--type", default="deal.status_changed")
    parser.add_argument("--deal-id", type=int, default=1)
    parser.add_argument("--batch-id", default="batch_bench")
    parser.add_argument("--job-id", default="job_bench")
    parser.add_argument(
        "--hold-ms", type=float, default=0.0, help="keep each transaction open up to this long"
    )
    parser.add_argument("--pad", type=int, default=0, help="add a string of this many bytes to each event")
    parser.add_argument("--tag", default="")
    parser.add_argument("--first-n", type=int, default=0, help="the index `n` of the first event")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--start-at", type=float, default=0.0, help="epoch seconds to wait for before publishing"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    result = publish_burst(args)
    print(json.dumps(result), flush=True)
    return result


def publish_burst(args: argparse.Namespace) -> dict[str, Any]:
    """Publish `args.count` events at `args.rate` (Django must be set up); returns the figures."""
    from django.db import transaction

    from events.publish import publish_event

    rng = random.Random(args.seed)
    if args.start_at:
        time.sleep(max(0.0, args.start_at - time.time()))
    started = time.perf_counter()
    cpu_started = time.process_time()
    behind = 0
    durations: list[float] = []
    for n in range(args.count):
        if args.rate:
            due = started + n / args.rate
            pause = due - time.perf_counter()
            if pause > 0:
                time.sleep(pause)
            elif pause < -0.05:
                behind += 1
        data = event_data(args.type, args, args.first_n + n)
        began = time.perf_counter()
        with transaction.atomic():
            data["sent_at"] = time.time()
            publish_event(args.org_id, args.type, data)
            if args.hold_ms:
                # Hold the organisation's sequence lock a little, like a pipeline step would.
                time.sleep(rng.random() * args.hold_ms / 1000)
        durations.append(time.perf_counter() - began)
    elapsed = time.perf_counter() - started
    cpu = time.process_time() - cpu_started
    result = {
        "published": args.count,
        "seconds": round(elapsed, 3),
        "rate": round(args.count / elapsed, 1) if elapsed else None,
        "late": behind,
        # The publisher's own CPU per event: independent of how many streams are listening.
        "cpu_ms_per_event": round(cpu * 1000 / max(args.count, 1), 3),
        # Time for one publish_event, commit included (the fan-out itself is asynchronous).
        "publish_ms": {
            "p50": round(sorted(durations)[len(durations) // 2] * 1000, 2) if durations else None,
            "p99": round(sorted(durations)[int(len(durations) * 0.99)] * 1000, 2) if durations else None,
        },
    }
    return result


if __name__ == "__main__":
    main()
