"""The two valuation streams (spec §6): `GET …/value-decision/stream-get` and `POST …/value-decision/stream`.

Both run the same steps as `POST /api/v1/value-decision` (services.py) and narrate them
as SSE through the one encoder. Their events carry no `id:` because a valuation stream
is not resumable: a client that loses it asks again. Every refusal (auth, scope, rate
limit, bad input, stream limit) is a JSON error sent before any stream byte.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextvars
import functools
import logging
import time
from collections.abc import AsyncGenerator
from concurrent.futures import ThreadPoolExecutor
from contextlib import aclosing
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpResponseBase
from django.utils import timezone

from api import idempotency
from api.errors import json_error
from api.models import IdempotencyRecord
from api.parsers import JsonBodyError, load_json_body
from core.context import request_id_var
from events.encoding import encode_event
from events.hub import db_call
from events.streams import GeneratorSource, StreamRequest, stream_view
from valuations import services
from valuations.models import Valuation
from valuations.services import ValuationFailed, ValuationRequest

logger = logging.getLogger(__name__)

#: Both streams create a stored valuation, so both need the `write` scope, like the POST.
STREAM_SCOPE = "write"
#: A base64 payload longer than this is refused (a JSON request body is capped the same way).
MAX_PAYLOAD_CHARS = 64 * 1024
#: Heartbeats while a page is being fetched come at least this often, so a proxy or a
#: mobile client never sees a silent connection (shorter if SSE_HEARTBEAT_SECONDS is).
MAX_HEARTBEAT_SECONDS = 3.0
#: The failure code of our own errors: the one outcome an Idempotency-Key does not keep.
INTERNAL_ERROR = "internal_error"
#: The `dealstream_open_streams` label of both streams.
STREAM_KIND = "valuation"
#: Concurrent page fetches of the streams in this process; more wait their turn.
FETCH_THREADS = 16

# Threads for page fetches only (started on first use). A fetch waits on somebody else's
# server for up to 5 s. On the shared pool (db_call, a handful of threads) a few slow shops
# would stall every stream's database work and authentication in this process; on their own
# pool they can only delay each other.
_FETCH_POOL = ThreadPoolExecutor(max_workers=FETCH_THREADS, thread_name_prefix="valuation-fetch")


# --- the steps of one streamed valuation ----------------------------------------------------


@dataclass(frozen=True)
class Step:
    """Something worth telling the client, before it is dressed as one stream's events."""

    #: `fetching`, `product`, an engine stage, then `complete` or `failed`.
    stage: str
    message: str = ""
    #: The scores known so far after an engine stage; the response when complete.
    data: dict[str, Any] | None = None
    valuation: Valuation | None = None
    code: str = ""


async def valuation_steps(
    parsed: ValuationRequest, organization_id: int, request_id: str
) -> AsyncGenerator[Step, None]:
    """Run one valuation, yielding its steps; always ends with `complete` or `failed`."""
    try:
        if parsed.override is not None:
            # No I/O: the client sent the product.
            resolved = services.resolve_product(parsed, organization_id)
        else:
            yield Step("fetching", f"Reading the product page {parsed.url}")
            # The fetch blocks for up to its deadline, so it runs on a thread while the
            # stream edge keeps the connection alive with heartbeats.
            context = contextvars.copy_context()  # keeps the request id on the fetch's log lines
            fetch = asyncio.get_running_loop().run_in_executor(
                _FETCH_POOL,
                functools.partial(context.run, services.resolve_product, parsed, organization_id),
            )
            try:
                resolved = await fetch
            finally:
                # A client that left stops waiting; the fetch itself ends at its own deadline.
                fetch.cancel()
        yield Step("product", services.describe_stage("product", {}, resolved))
        # Scoring is pure and takes well under a millisecond: no thread needed.
        partials, response = services.score(resolved.product)
        for stage, data in partials:
            yield Step(stage, services.describe_stage(stage, data), data)
        valuation = await db_call(services.record_valuation)(
            organization_id, parsed, resolved, response, request_id=request_id
        )
    except ValuationFailed as exc:
        yield Step("failed", exc.message, code=exc.code)
        return
    except Exception:
        logger.exception("Streamed valuation of %s failed", parsed.url)
        yield Step("failed", "Something went wrong on our side; it has been logged.", code=INTERNAL_ERROR)
        return
    yield Step("complete", services.describe_stage("complete", response), valuation.result, valuation)


def _event(name: str, **fields: Any) -> bytes:
    """An event whose data is `type`, `fields` and the time it is sent."""
    return encode_event(name, {"type": name, **fields, "timestamp": timezone.now().isoformat()})


def _heartbeat() -> bytes:
    # The valuation streams' contract (spec §6) names its keep-alive: a `heartbeat` event a
    # browser's EventSource can see, where the feeds send the `: heartbeat` comment.
    return _event("heartbeat", ts=int(time.time()))


# --- GET …/stream-get: heartbeat, log…, result | failure ----------------------------------------


async def stream_get_events(
    parsed: ValuationRequest, organization_id: int, request_id: str
) -> AsyncGenerator[bytes, None]:
    """`: heartbeat` first, a `log` per step, then `result` (the response) or `failure`."""
    # Closing the steps stops the valuation now, not whenever the garbage collector gets to it.
    async with aclosing(valuation_steps(parsed, organization_id, request_id)) as steps:
        yield _heartbeat()
        async for step in steps:
            if step.stage == "complete":
                assert step.data is not None
                yield encode_event("result", {"type": "result", **step.data})
            elif step.stage == "failed":
                failure = {
                    "type": "failure",
                    "message": step.message,
                    "code": step.code,
                    "request_id": request_id,
                }
                yield encode_event("failure", failure)
            else:
                yield _event("log", message=step.message, request_id=request_id, stage=step.stage)


# --- POST …/stream: start, progress/partial…, complete | error -------------------------------


@dataclass
class Claim:
    """An Idempotency-Key's record while its stream runs: settled once the outcome is stored."""

    record: IdempotencyRecord | None
    settled: bool = False

    async def finish(self, status: int, body: dict[str, Any]) -> None:
        if self.record is not None:
            await db_call(idempotency.finish)(self.record, status, body)
            self.settled = True

    async def release_unless_settled(self) -> None:
        """Give the key back when the stream ended without an outcome (our error, the client left, refused)."""
        if self.record is not None and not self.settled:
            await db_call(idempotency.release)(self.record)


async def stream_post_events(
    parsed: ValuationRequest, organization_id: int, request_id: str, claim: Claim
) -> AsyncGenerator[bytes, None]:
    """`start`, `progress` (0–100) and `partial` per stage, then `complete` or `error`.

    With an Idempotency-Key, the outcome is stored in `claim` before it is sent (the
    valuation's id, or the refusal) so that a retry replays it.
    """
    async with aclosing(valuation_steps(parsed, organization_id, request_id)) as steps:
        yield _event("start", request_id=request_id, url=parsed.url, source=parsed.source)
        async for step in steps:
            if step.stage == "complete":
                assert step.data is not None
                assert step.valuation is not None
                await claim.finish(200, {"valuation_id": step.valuation.pk})
                yield _event("progress", progress=100, stage="complete", message=step.message)
                yield _complete_event(step.valuation.pk, step.data)
            elif step.stage == "failed":
                if step.code != INTERNAL_ERROR:
                    await claim.finish(400, {"error": {"code": step.code, "message": step.message}})
                yield _event("error", code=step.code, message=step.message)
            else:
                percent = services.STAGE_PERCENT[step.stage]
                yield _event("progress", progress=percent, stage=step.stage, message=step.message)
                if step.data is not None:
                    yield _event("partial", stage=step.stage, **step.data)


def _complete_event(valuation_id: str, result: dict[str, Any]) -> bytes:
    price_range = result["fairPriceRange"]
    return _event(
        "complete",
        valuation=result,
        price_min=price_range["min"],
        price_max=price_range["max"],
        currency=price_range["currency"],
        valuation_id=valuation_id,
    )


async def replayed_post_events(record: IdempotencyRecord, request_id: str) -> AsyncGenerator[bytes, None]:
    """What a retry with an Idempotency-Key gets: the first stream's outcome, with nothing run again."""
    body = record.response_body or {}
    valuation = None
    if "valuation_id" in body:
        valuation = await db_call(Valuation.objects.filter(pk=body["valuation_id"]).first)()
    url, source = (valuation.url, valuation.source) if valuation else ("", "")
    yield _event("start", request_id=request_id, url=url, source=source, replayed=True)
    if valuation is not None:
        yield _complete_event(valuation.pk, valuation.result)
    elif "error" in body:
        yield _event("error", code=body["error"]["code"], message=body["error"]["message"])
    else:  # the valuation was purged since
        message = "The valuation this request created has since been deleted."
        yield _event("error", code="not_found", message=message)


# --- the two endpoints --------------------------------------------------------------------------


def _source(events: AsyncGenerator[bytes, None], **options: Any) -> GeneratorSource:
    heartbeat_seconds = min(MAX_HEARTBEAT_SECONDS, float(settings.SSE_HEARTBEAT_SECONDS))
    return GeneratorSource(
        STREAM_KIND, events, heartbeat_seconds=heartbeat_seconds, heartbeat=_heartbeat, **options
    )


def _decode_payload(raw: str) -> object:
    """The JSON object in a base64url `payload` (padding optional; `btoa`'s alphabet accepted too)."""
    if not raw:
        raise ValueError("The payload parameter is required: base64url-encoded JSON.")
    if len(raw) > MAX_PAYLOAD_CHARS:
        raise ValueError(f"The payload is longer than {MAX_PAYLOAD_CHARS} characters.")
    # A `+` from btoa() arrives as a space when the client did not percent-encode it.
    text = raw.strip().replace(" ", "+").translate(str.maketrans("+/", "-_")).rstrip("=")
    try:
        decoded = base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("The payload is not valid base64url.") from None
    try:
        data = load_json_body(decoded)
    except JsonBodyError as exc:
        raise ValueError(f"The payload does not decode to acceptable JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ValueError("The payload must be a JSON object.")
    return data


@stream_view(methods=("GET",), scope=STREAM_SCOPE)
async def value_decision_stream_get(stream: StreamRequest) -> GeneratorSource | HttpResponseBase:
    """`GET /api/v1/value-decision/stream-get?payload=<base64url JSON>&api_key=…` (for EventSource)."""
    if stream.actor.api_key is None:
        # This GET stores a valuation. A browser sends the session cookie along with any
        # cross-site GET (an <img>, an EventSource), and GETs carry no CSRF token, so a
        # session alone must not be enough here; sessions use the POST stream instead.
        return json_error(
            401,
            "api_key_required",
            "This stream stores a valuation: send an API key (?api_key= or Authorization: Bearer). "
            "Logged-in browsers use POST /api/v1/value-decision/stream.",
        )
    try:
        body = _decode_payload(stream.request.GET.get("payload", ""))
    except ValueError as exc:
        return json_error(400, "invalid_payload", str(exc), {"payload": [str(exc)]})
    parsed = services.parse_request(body)  # a ValidationError is the REST endpoint's 400
    events = stream_get_events(parsed, stream.actor.organization.pk, request_id_var.get() or "")
    return _source(events)


@stream_view(methods=("POST",), scope=STREAM_SCOPE)
async def value_decision_stream_post(stream: StreamRequest) -> GeneratorSource | HttpResponseBase:
    """`POST /api/v1/value-decision/stream` with the JSON body of `POST /api/v1/value-decision`."""
    request = stream.request
    if request.content_type != "application/json":
        return json_error(
            415, "unsupported_media_type", "Send the request as Content-Type: application/json."
        )
    try:
        body = load_json_body(request.body or b"null")
    except RequestDataTooBig:
        return json_error(413, "payload_too_large", "The request body is too large.")
    except JsonBodyError as exc:
        return json_error(400, "malformed_request", str(exc))
    parsed = services.parse_request(body)  # a ValidationError is the REST endpoint's 400
    request_id = request_id_var.get() or ""
    claim = Claim(None)
    key = request.headers.get("Idempotency-Key")
    if key:
        idempotency.check_key(key)
        fingerprint = idempotency.body_fingerprint("POST", request.path, body)
        record, first = await db_call(idempotency.claim)(stream.actor.organization, key, fingerprint)
        if not first:
            replayed = _source(replayed_post_events(record, request_id))
            replayed.response_headers = {idempotency.REPLAYED_HEADER: "true"}
            return replayed
        claim = Claim(record)
    events = stream_post_events(parsed, stream.actor.organization.pk, request_id, claim)
    return _source(events, on_close=claim.release_unless_settled)
