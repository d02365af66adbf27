"""Publish N events at a rate with `group_send` (what a worker does in the plain approach)."""

import argparse
import asyncio
import json
import os
import time

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "settings")
import django  # noqa: E402

django.setup()
from channels.layers import get_channel_layer  # noqa: E402


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=100)
    parser.add_argument("--rate", type=float, default=0)
    parser.add_argument("--tag", default="")
    args = parser.parse_args()
    layer = get_channel_layer()
    started = time.perf_counter()
    for n in range(args.count):
        if args.rate:
            pause = started + n / args.rate - time.perf_counter()
            if pause > 0:
                await asyncio.sleep(pause)
        data = {"n": n, "tag": args.tag, "type": "deal.status_changed", "sent_at": time.time()}
        frame = f"id: {n + 1}\nevent: deal.status_changed\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"
        await layer.group_send("org", {"type": "event", "frame": frame})
    elapsed = time.perf_counter() - started
    print(json.dumps({"published": args.count, "seconds": round(elapsed, 3), "rate": round(args.count / elapsed, 1)}))


asyncio.run(main())
