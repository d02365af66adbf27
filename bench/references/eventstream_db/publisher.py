"""Publish N events at a rate with django-eventstream's `send_event` (stored, then Redis pub/sub)."""

import argparse
import json
import os
import time

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "settings")
import django  # noqa: E402

django.setup()
from django_eventstream import send_event  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=100)
    parser.add_argument("--rate", type=float, default=0)
    parser.add_argument("--tag", default="")
    args = parser.parse_args()
    started = time.perf_counter()
    for n in range(args.count):
        if args.rate:
            pause = started + n / args.rate - time.perf_counter()
            if pause > 0:
                time.sleep(pause)
        send_event("org", "deal.status_changed", {"n": n, "tag": args.tag, "sent_at": time.time()})
    elapsed = time.perf_counter() - started
    print(json.dumps({"published": args.count, "seconds": round(elapsed, 3), "rate": round(args.count / elapsed, 1)}))


main()
