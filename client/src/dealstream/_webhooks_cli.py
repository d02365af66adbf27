"""`dealstream webhooks …` and `dealstream listen`: manage endpoints, and forward live events to a
local server during development, signed exactly like webhook deliveries."""

from __future__ import annotations

import argparse
import base64
import json
import re
import secrets
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import httpx

from dealstream._client import Dealstream
from dealstream.models import Webhook, WebhookDelivery
from dealstream.sse import Event
from dealstream.webhooks import SECRET_PREFIX, sign_webhook

FORWARD_TIMEOUT_SECONDS = 10.0


def add_commands(commands: Any) -> None:
    """Register `webhooks` and `listen` on the main parser's subcommands."""
    webhooks = commands.add_parser(
        "webhooks",
        help="create and inspect webhook endpoints",
        description="Create, list and inspect webhook endpoints, and replay their events.",
    )
    actions = webhooks.add_subparsers(dest="webhook_command", required=True, metavar="ACTION")
    create = actions.add_parser("create", help="create an endpoint (prints its secret, shown once)")
    create.add_argument("url", help="where events are POSTed")
    create.add_argument(
        "--events",
        required=True,
        help="comma-separated event types, `*` wildcards (e.g. 'processing.*,deal.decision')",
    )
    create.add_argument("--description", help="what the endpoint is for")
    actions.add_parser("list", help="list the endpoints")
    deliveries = actions.add_parser("deliveries", help="an endpoint's delivery attempts, newest first")
    deliveries.add_argument("webhook", help="the endpoint id (wh_…)")
    deliveries.add_argument("--limit", type=int, default=20, help="at most this many (default 20)")
    replay = actions.add_parser("replay", help="deliver again every subscribed event after an id")
    replay.add_argument("webhook", help="the endpoint id (wh_…)")
    replay.add_argument(
        "--since", type=int, required=True, metavar="EVENT_ID", help="re-send the events after this id"
    )
    for each in (create, actions.choices["list"], deliveries, replay):
        each.add_argument("--json", action="store_true", help="print the API's JSON")

    listen = commands.add_parser(
        "listen",
        help="forward live events, signed like webhooks, to a local URL",
        description=(
            "Follow the organisation's feed and POST each event to --forward-to, signed like a webhook "
            "delivery (webhook-id, webhook-timestamp, webhook-signature), so a receiver can be developed "
            "against live events. Prints the signing secret first."
        ),
    )
    listen.add_argument("--forward-to", required=True, metavar="URL", help="e.g. http://localhost:3000/hook")
    listen.add_argument(
        "--events", default="*", help="comma-separated event types, `*` wildcards (default: all)"
    )
    listen.add_argument("--secret", help="sign with this whsec_ secret (default: a new one, printed)")
    listen.add_argument("--last-event-id", help="start after this event id (default: only new events)")


def event_types(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def matches(patterns: Sequence[str], event_type: str) -> bool:
    """Whether `event_type` is one of `patterns` (`*` matches any run of characters)."""
    return any(
        re.fullmatch(".*".join(re.escape(piece) for piece in pattern.split("*")), event_type)
        for pattern in patterns
    )


def run_webhooks(args: argparse.Namespace, client: Dealstream, out: Callable[[str], None]) -> int:
    if args.webhook_command == "create":
        created = client.webhooks.create(args.url, event_types(args.events), description=args.description)
        if args.json:
            out(json.dumps(created, ensure_ascii=False))
        else:
            out(f"{created['id']}  {created['url']}  {','.join(created['event_types'])}")
            out(f"signing secret (shown once): {created['secret']}")
    elif args.webhook_command == "list":
        found = list(client.webhooks.list())
        if args.json:
            out(json.dumps(found, ensure_ascii=False))
        for webhook in [] if args.json else found:
            out(_webhook_row(webhook))
        if not found and not args.json:
            out("no webhooks")
    elif args.webhook_command == "deliveries":
        attempts: list[WebhookDelivery] = []
        for attempt in client.webhooks.deliveries(args.webhook):
            attempts.append(attempt)
            if len(attempts) >= args.limit:
                break
        if args.json:
            out(json.dumps(attempts, ensure_ascii=False))
        for attempt in [] if args.json else attempts:
            out(_delivery_row(attempt))
    else:
        replayed = client.webhooks.replay(args.webhook, args.since)
        out(json.dumps(replayed) if args.json else f"replaying the events after #{replayed['since_id']}")
    return 0


def _webhook_row(webhook: Webhook) -> str:
    state = (
        "enabled" if webhook.get("enabled") else f"disabled ({webhook.get('disabled_reason') or 'by you'})"
    )
    return (
        f"{webhook['id']}  {state:<9} {','.join(webhook.get('event_types') or [])}  {webhook.get('url', '')}"
    )


def _delivery_row(attempt: WebhookDelivery) -> str:
    event = f"#{attempt['event_id']}" if attempt.get("event_id") is not None else "ping"
    code = attempt.get("response_code") or "-"
    line = f"{attempt.get('created_at', '')[:19]}  {event:>8}  {attempt.get('type', ''):<26} attempt {attempt.get('attempt')}"
    line += f"  {attempt.get('status', ''):<9} {code}  {attempt.get('duration_ms')} ms"
    next_attempt_at = attempt.get("next_attempt_at")
    if next_attempt_at:
        line += f"  next {next_attempt_at[:19]}"
    if attempt.get("error"):
        line += f"  {attempt['error']}"
    return line


def delivery_body(event: Event) -> bytes:
    """The body a webhook delivery of this event carries: `{"id", "type", "timestamp", "data"}`."""
    data = event.data if isinstance(event.data, dict) else {}
    payload = {
        "id": int(event.id or 0),
        "type": event.type,
        "timestamp": data.get("timestamp"),
        "data": event.data,
    }
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


def forward(http: httpx.Client, url: str, event: Event, secret: str) -> str:
    """POST one event, signed, to `url`; returns what happened, for the terminal."""
    body = delivery_body(event)
    timestamp = int(time.time())
    headers = {
        "content-type": "application/json",
        "webhook-id": str(event.id),
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign_webhook(str(event.id), timestamp, body, secret),
    }
    started = time.monotonic()
    try:
        response = http.post(url, content=body, headers=headers, timeout=FORWARD_TIMEOUT_SECONDS)
    except httpx.HTTPError as exc:
        return f"failed: {type(exc).__name__}"
    return f"{response.status_code} ({round((time.monotonic() - started) * 1000)} ms)"


def run_listen(args: argparse.Namespace, client: Dealstream, out: Callable[[str], None]) -> int:
    secret = args.secret or SECRET_PREFIX + base64.b64encode(secrets.token_bytes(24)).decode("ascii")
    patterns = event_types(args.events)
    out(f"Forwarding {','.join(patterns)} to {args.forward_to}")
    out(f"Signing secret: {secret}")
    with httpx.Client() as http, client.stream.org(last_event_id=args.last_event_id) as stream:
        for event in stream:
            if event.id is None or not matches(patterns, event.type):
                continue  # `stream.reset` and other id-less notices are not deliveries
            outcome = forward(http, args.forward_to, event, secret)
            out(f"{datetime.now():%H:%M:%S}  #{event.id:>7}  {event.type:<26} → {outcome}")
    return 0
