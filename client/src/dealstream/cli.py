"""The `dealstream` command: deals, statements, live feeds, valuations and usage from a terminal.

Exit codes: 0 done, 1 the API refused or failed (or the work it did failed), 2 wrong
usage, 130 interrupted (Ctrl-C).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import shutil
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

from dealstream import _webhooks_cli
from dealstream._async_client import AsyncDealstream
from dealstream._client import Dealstream
from dealstream._core import VERSION
from dealstream.errors import DealstreamError
from dealstream.models import Deal
from dealstream.sse import Event

EXIT_OK, EXIT_API_ERROR, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


class UsageError(Exception):
    """A mistake in the command line or its files: exit code 2."""


FEEDS = ("org", "deal", "batch", "job")
BAR_WIDTH = 24


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dealstream",
        description="Command-line client of the Dealstream API.",
        epilog="The API key and base URL default to DEALSTREAM_API_KEY and DEALSTREAM_BASE_URL.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {VERSION}")
    parser.add_argument("--api-key", help="API key (default: $DEALSTREAM_API_KEY)")
    parser.add_argument(
        "--base-url", help="server URL (default: $DEALSTREAM_BASE_URL or http://127.0.0.1:8000)"
    )
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="log retries and reconnections to stderr"
    )
    parser.add_argument(
        "--no-retry",
        action="store_true",
        help="fail at once (exit 1) when the server cannot be reached, instead of retrying",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    deals = commands.add_parser(
        "deals",
        help="create, list, show and decide deals",
        description="Create, list, show and decide deals.",
    )
    deal_commands = deals.add_subparsers(dest="deal_command", required=True, metavar="ACTION")
    create = deal_commands.add_parser("create", help="create a deal", description="Create a deal.")
    create.add_argument("business_name", metavar="NAME", help="the business's name")
    create.add_argument("--amount", help="the amount requested, e.g. 50000")
    create.add_argument("--ref", help="your own reference (e.g. the CRM id)")
    listing = deal_commands.add_parser("list", help="list deals, newest first", description="List deals.")
    listing.add_argument(
        "--status", choices=("new", "processing", "under_review", "approved", "declined"), help="only these"
    )
    listing.add_argument("--search", help="only business names containing this")
    show = deal_commands.add_parser(
        "show", help="a deal with its score, flags, statements and proposal", description="Show a deal."
    )
    show.add_argument("deal", type=int, help="the deal id")
    decide = deal_commands.add_parser(
        "decide",
        help="approve or decline a deal under review",
        description="Decide a deal under review (this resolves any open proposal).",
    )
    decide.add_argument("deal", type=int, help="the deal id")
    decide.add_argument("decision", choices=("approved", "declined"))
    decide.add_argument("--note", help="why")
    for each in (create, listing, show, decide):
        each.add_argument("--json", action="store_true", help="print the API's JSON")

    watch = commands.add_parser(
        "watch",
        help="follow a live event feed (a deal: its state first, then every change)",
        description="Follow a live event feed. `watch deal ID` prints the deal, then every change after it.",
    )
    watch.add_argument("feed", choices=FEEDS, help="which feed: org, deal ID, batch ID or job ID")
    watch.add_argument("id", nargs="?", help="the deal, batch or job id")
    watch.add_argument("--json", action="store_true", help="one JSON event per line")
    watch.add_argument("--last-event-id", help="resume after this event id")
    watch.add_argument("--types", help="only these event types, e.g. 'processing.*,deal.decision'")

    upload = commands.add_parser(
        "upload",
        help="upload bank statements to a deal and follow their processing",
        description="Upload statements to a deal, follow each one's job, then print the deal's health score.",
    )
    upload.add_argument("deal", type=int, help="the deal id")
    upload.add_argument("files", nargs="+", type=Path, metavar="FILE", help="CSV, OFX/QFX or PDF statements")
    upload.add_argument(
        "--json",
        action="store_true",
        help="one JSON line per job event (with its file), then the deal as a `deal` line",
    )

    valuate = commands.add_parser(
        "valuate",
        help="value a product, streaming the progress",
        description="Value a product read from its page (--url) or described in a JSON file (--product).",
    )
    valuate.add_argument("--url", help="the product page")
    valuate.add_argument("--product", type=Path, metavar="FILE.json", help="overrideProduct as a JSON file")
    valuate.add_argument("--json", action="store_true", help="one JSON event per line")

    _webhooks_cli.add_commands(commands)

    usage = commands.add_parser("usage", help="this month's job usage", description="This month's job usage.")
    usage.add_argument("--json", action="store_true", help="print the usage as JSON")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "watch":
        if args.feed == "org" and args.id is not None:
            parser.error("watch org takes no id")
        if args.feed != "org" and args.id is None:
            parser.error(f"watch {args.feed} needs an id")
        if args.feed == "deal" and not args.id.isdigit():
            parser.error(f"deal ids are integers, not {args.id!r}")
    if args.command == "valuate" and not (args.url or args.product):
        parser.error("valuate needs --url, --product or both")
    if not (args.api_key or os.environ.get("DEALSTREAM_API_KEY")):
        parser.error("no API key: set DEALSTREAM_API_KEY or pass --api-key")
    # Only the client's own messages, not every request httpx logs: warnings (a server that
    # cannot be reached) always, retries and reconnections with -v.
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_ClientLogFormatter())
    logger = logging.getLogger("dealstream")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO if args.verbose else logging.WARNING)
    try:
        if args.command == "deals":
            return deals(args)
        if args.command == "watch":
            return watch(args)
        if args.command == "upload":
            return asyncio.run(upload(args))
        if args.command == "valuate":
            return valuate(args)
        if args.command == "webhooks":
            with _client(args) as client:
                return _webhooks_cli.run_webhooks(args, client, _out)
        if args.command == "listen":
            with _client(args) as client:
                return _webhooks_cli.run_listen(args, client, _out)
        return show_usage(args)
    except UsageError as exc:
        _err(f"error: {exc}")
        return EXIT_USAGE
    except DealstreamError as exc:
        _err(f"error: {describe_error(exc)}")
        return EXIT_API_ERROR
    except KeyboardInterrupt:
        _out("", sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader went away (`dealstream watch org | head`): not an error of ours.
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - silences the flush at exit
        return EXIT_OK


class _ClientLogFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = f"dealstream: {record.getMessage()}"
        if getattr(record, "dealstream_unreachable", False):
            line += " (Ctrl-C to stop)"
        return line


def describe_error(exc: DealstreamError) -> str:
    parts = [exc.message]
    if exc.status:
        parts.append(f"[HTTP {exc.status}{' ' + exc.code if exc.code else ''}]")
    fields = getattr(exc, "fields", None)
    if fields:
        parts.append("; ".join(f"{name}: {_text(value)}" for name, value in fields.items()))
    if exc.request_id:
        parts.append(f"(request id {exc.request_id})")
    return " ".join(parts)


def _client(args: argparse.Namespace) -> Dealstream:
    return Dealstream(args.api_key, args.base_url, **_retry_options(args))


def _retry_options(args: argparse.Namespace) -> dict[str, Any]:
    if args.no_retry:
        return {"max_retries": 0, "stream_connect_attempts": 1}
    return {}


def _text(value: Any) -> str:
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return " ".join(value)
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _out(line: str, stream: TextIO | None = None) -> None:
    # Flushed line by line: a pipe (`| jq`, a test) sees each event as it arrives.
    stream = stream or sys.stdout
    stream.write(line + "\n")
    stream.flush()


def _err(message: str) -> None:
    _out(f"dealstream: {message}", sys.stderr)


# ----------------------------------------------------------------------------- watch

_QUIET_FIELDS = frozenset({"type", "timestamp", "request_id"})


def event_json(event: Event) -> str:
    """One event as one JSON line."""
    return _json_line(_event_fields(event))


def _event_fields(event: Event) -> dict[str, Any]:
    return {"id": event.id, "type": event.type, "data": event.data}


def _json_line(value: dict[str, Any]) -> str:
    return json.dumps(value, ensure_ascii=False)


def event_line(event: Event) -> str:
    """One event as one readable line: time, id, type and its fields."""
    data = event.data if isinstance(event.data, dict) else {"data": event.data}
    when = _clock(data.get("timestamp"))
    fields = " ".join(f"{name}={_text(value)}" for name, value in data.items() if name not in _QUIET_FIELDS)
    ident = f"#{event.id}" if event.id else "-"
    return f"{when}  {ident:>7}  {event.type:<26} {fields}".rstrip()


def _clock(timestamp: Any) -> str:
    try:
        moment = datetime.fromisoformat(str(timestamp)).astimezone()
    except ValueError:
        moment = datetime.now()
    return moment.strftime("%H:%M:%S")


def watch(args: argparse.Namespace) -> int:
    with _client(args) as client:
        if args.feed == "deal" and args.last_event_id is None:
            return watch_deal(client, int(args.id), as_json=args.json, types=args.types)
        if args.feed == "org":
            stream = client.stream.org(last_event_id=args.last_event_id, types=args.types)
        elif args.feed == "deal":
            stream = client.stream.deal(int(args.id), last_event_id=args.last_event_id, types=args.types)
        elif args.feed == "batch":
            stream = client.stream.batch(args.id, last_event_id=args.last_event_id, types=args.types)
        else:
            stream = client.stream.job(args.id, last_event_id=args.last_event_id, types=args.types)
        with stream:
            for event in stream:
                _out(event_json(event) if args.json else event_line(event))
    return EXIT_OK


def watch_deal(client: Dealstream, deal_id: int, *, as_json: bool, types: str | None = None) -> int:
    """The deal as it is, then every change live; the deal again whenever the feed resets."""

    def show(deal: Deal) -> None:
        _out(_json_line({"type": "deal", "data": deal}) if as_json else _deal_snapshot_line(deal))

    with client.deals.watch(deal_id, types=types) as watched:
        show(watched.deal)
        for event in watched:
            _out(event_json(event) if as_json else event_line(event))
            if event.type == "stream.reset":
                show(watched.deal)
    return EXIT_OK


def _deal_snapshot_line(deal: Deal) -> str:
    score = deal.get("health_score")
    return (
        f"deal {deal['id']} ({deal.get('business_name', '')}): status {deal['status']}, "
        f"health score {score if score is not None else 'n/a'}, at event {deal.get('event_position', '-')}"
    )


# ---------------------------------------------------------------------------- upload


@dataclass
class Row:
    """One statement's line on the progress board."""

    name: str
    job_id: str
    status: str = "queued"
    progress: float = 0.0
    message: str = ""
    error: str = ""

    def render(self, width: int) -> str:
        filled = round(BAR_WIDTH * max(0.0, min(1.0, self.progress)))
        bar = "#" * filled + "-" * (BAR_WIDTH - filled)
        detail = f"failed: {self.error}" if self.status == "failed" else (self.message or self.status)
        return f"{self.name:<{width}}  [{bar}] {round(self.progress * 100):>3}%  {detail}"


class Board:
    """Progress lines, redrawn in place on a terminal and printed as they change otherwise."""

    def __init__(self, rows: list[Row], stream: TextIO) -> None:
        self.rows = rows
        self.stream = stream
        self.live = stream.isatty()
        self.width = max(len(row.name) for row in rows)
        self._printed: dict[int, str] = {}
        if self.live:
            columns = shutil.get_terminal_size().columns - 1
            for row in rows:
                stream.write(row.render(self.width)[:columns] + "\n")
            stream.flush()

    def update(self, row: Row) -> None:
        if self.live:
            # Up to the first line, then rewrite every line (\x1b[2K clears it). Lines are cut
            # to the terminal's width: a wrapped line would throw the cursor arithmetic off.
            columns = shutil.get_terminal_size().columns - 1
            self.stream.write(f"\x1b[{len(self.rows)}A")
            for each in self.rows:
                self.stream.write("\r\x1b[2K" + each.render(self.width)[:columns] + "\n")
            self.stream.flush()
            return
        # Without a terminal, print a line when the stage or outcome changes, not every percent.
        key = f"{row.status}|{row.message}|{row.error}"
        if self._printed.get(id(row)) != key:
            self._printed[id(row)] = key
            _out(row.render(self.width), self.stream)


def apply_job_event(row: Row, event: Event) -> None:
    """Fold one job-feed event into its row."""
    data = event.data if isinstance(event.data, dict) else {}
    if event.type == "status":
        row.status = str(data.get("status", row.status))
    elif event.type == "progress":
        row.status = "started"
        row.progress = float(data.get("progress") or 0.0)
        row.message = str(data.get("message") or "")
    elif event.type in ("completed", "failed", "canceled"):
        row.status = event.type
        row.message = event.type
        if event.type == "completed":
            row.progress = 1.0
        else:
            row.error = str(data.get("error") or event.type)


async def upload(args: argparse.Namespace) -> int:
    for path in args.files:
        if not path.is_file():
            raise UsageError(f"no such file: {path}")
    async with AsyncDealstream(args.api_key, args.base_url, **_retry_options(args)) as client:
        rows = []
        for path in args.files:
            accepted = await client.deals.upload_statement(args.deal, path)
            rows.append(Row(path.name, accepted["job_id"]))
        board = None if args.json else Board(rows, sys.stdout)

        async def follow(row: Row) -> None:
            async with client.stream.job(row.job_id) as events:
                async for event in events:
                    apply_job_event(row, event)
                    if board is None:
                        _out(_json_line({"file": row.name, "job_id": row.job_id, **_event_fields(event)}))
                    else:
                        board.update(row)

        await asyncio.gather(*(follow(row) for row in rows))
        deal = await client.deals.get(args.deal)
    failed = [row for row in rows if row.status != "completed"]
    for row in failed:
        _err(f"{row.name}: {row.error or row.status}")
    if args.json:
        _out(_json_line({"type": "deal", "data": deal}))
    else:
        _print_deal_summary(deal)
    return EXIT_API_ERROR if failed else EXIT_OK


def _print_deal_summary(deal: Deal) -> None:
    score = deal.get("health_score")
    _out(
        f"Deal {deal['id']} ({deal.get('business_name', '')}): "
        f"health score {score if score is not None else 'n/a'}, status {deal['status']}"
    )
    for flag in deal.get("flags") or []:
        _out(f"  flag: {_text(flag)}")


# ----------------------------------------------------------------------------- deals


def deals(args: argparse.Namespace) -> int:
    with _client(args) as client:
        if args.deal_command == "list":
            found = list(client.deals.list(status=args.status, search=args.search))
            if args.json:
                _out(json.dumps(found, ensure_ascii=False))
            else:
                for deal in found:
                    _out(_deal_row(deal))
                if not found:
                    _out("no deals")
            return EXIT_OK
        if args.deal_command == "create":
            deal = client.deals.create(
                args.business_name, amount_requested=args.amount, external_ref=args.ref
            )
        elif args.deal_command == "decide":
            deal = client.deals.decide(args.deal, args.decision, note=args.note)
        else:
            deal = client.deals.get(args.deal)
    if args.json:
        _out(json.dumps(deal, ensure_ascii=False))
    else:
        _print_deal(deal)
    return EXIT_OK


def _deal_row(deal: Deal) -> str:
    score = deal.get("health_score")
    amount = deal.get("amount_requested")
    return (
        f"{deal['id']:>6}  {deal['status']:<13} {score if score is not None else '-':>6}  "
        f"{amount or '-':>12}  {deal.get('business_name', '')}"
    )


def _print_deal(deal: Deal) -> None:
    _print_deal_summary(deal)
    if deal.get("amount_requested"):
        _out(f"  amount requested: {deal['amount_requested']}")
    for statement in deal.get("statements") or []:
        _out(
            f"  statement {statement.get('id')}: {statement.get('filename', '')} ({statement.get('status')})"
        )
    proposal = deal.get("proposal")
    if proposal:
        proposed = (proposal.get("proposed") or {}).get("decision", "?")
        _out(f"  proposal {proposal['change_id']}: {proposed}. {proposal.get('explanation', '')}".rstrip())
    decision = deal.get("decision")
    if decision:
        note = f": {decision['note']}" if decision.get("note") else ""
        _out(f"  decision: {decision.get('decision')} by {decision.get('decided_by', '?')}{note}")


# --------------------------------------------------------------------------- valuate


def read_product(path: Path, url: str | None) -> tuple[str, dict[str, Any]]:
    """The url and overrideProduct from `--product` (and `--url`).

    The file holds an overrideProduct object, or a whole request body
    (`{"url", "overrideProduct"}`), which is how a product is valued without `--url`.
    """
    try:
        content = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise UsageError(f"cannot read {path}: {exc}") from exc
    if not isinstance(content, dict):
        raise UsageError(f"{path} must hold a JSON object")
    if isinstance(content.get("overrideProduct"), dict):
        url = url or content.get("url")
        content = content["overrideProduct"]
    if not isinstance(url, str) or not url:
        raise UsageError("the API identifies a product by its page: pass --url, or put url in the JSON file")
    return url, content


def valuate(args: argparse.Namespace) -> int:
    product = None
    url = args.url
    if args.product is not None:
        url, product = read_product(args.product, args.url)
    outcome = EXIT_API_ERROR  # unless the stream brings a result
    with _client(args) as client, client.valuate_stream(url, override_product=product) as stream:
        for event in stream:
            if args.json:
                _out(event_json(event))
            data = event.data if isinstance(event.data, dict) else {}
            if event.type == "complete":
                if not args.json:
                    print_valuation(data.get("valuation") or {})
                outcome = EXIT_OK
            elif event.type == "error":
                _err(f"error: {data.get('message') or event.raw}")
            elif event.type == "progress" and not args.json:
                message = data.get("message") or data.get("stage") or ""
                _out(f"{round(float(data.get('progress') or 0)):>3}%  {message}".rstrip())
            elif event.type == "start" and not args.json:
                _out("valuing…")
    return outcome


def print_valuation(valuation: dict[str, Any]) -> None:
    """The scores of a valuation, one per line."""
    circularity = valuation.get("circularity") or {}
    price = valuation.get("fairPriceRange") or {}
    lines = [
        ("Product", valuation.get("productId", "")),
        ("Price fairness", f"{valuation.get('priceFairnessScore')}/100"),
        ("Resale potential", f"{valuation.get('resalePotentialScore')}/100"),
        ("Circular impact", f"{circularity.get('circularImpactScore')}/100"),
    ]
    for label, key in (
        ("  material loop", "materialLoopScore"),
        ("  durability", "durabilityScore"),
        ("  reparability", "reparabilityScore"),
        ("  recyclability", "recyclabilityScore"),
    ):
        if key in circularity:
            lines.append((label, f"{circularity[key]}/100"))
    if "takebackAvailable" in circularity:
        lines.append(("  take-back", "yes" if circularity["takebackAvailable"] else "no"))
    if price:
        lines.append(
            ("Fair price", f"{price.get('min')}–{price.get('max')} {price.get('currency', '')}".rstrip())
        )
    if circularity.get("tokens"):
        lines.append(("Tokens", ", ".join(map(str, circularity["tokens"]))))
    for label, value in lines:
        _out(f"{label:<20}{value}")
    for explanation in valuation.get("explanations") or []:
        _out(f"  - {_text(explanation)}")


# ----------------------------------------------------------------------------- usage


def show_usage(args: argparse.Namespace) -> int:
    with _client(args) as client:
        usage = client.usage()
    if args.json:
        _out(json.dumps(usage))
    else:
        _out(
            f"{usage['monthly_used']} of {usage['monthly_limit']} jobs used this month "
            f"({usage['monthly_remaining']} left, {usage['subscription_tier']} tier)"
        )
    return EXIT_OK
