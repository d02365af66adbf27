"""The sans-IO heart of the client, shared by `Dealstream` and `AsyncDealstream`.

Everything here decides (what to send, whether to retry and after how long, what an
answer means, when a stream reconnects) and nothing here touches the network or sleeps
(it only reads the files given for upload): the sync and async front ends only move
bytes and wait where this module tells them to.
"""

from __future__ import annotations

import email.utils
import json
import logging
import math
import os
import random
import re
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Generic, Literal, TypeVar
from urllib.parse import urlsplit, urlunsplit

import httpx

from dealstream import errors
from dealstream.sse import Event, SSEDecoder

T = TypeVar("T")

logger = logging.getLogger("dealstream")

VERSION = "0.1.0"
DEFAULT_BASE_URL = "http://127.0.0.1:8000"
DEFAULT_TIMEOUT = 30.0
DEFAULT_HEARTBEAT_INTERVAL = 15.0
# A connection that stays silent for this many heartbeat intervals is presumed dead.
WATCHDOG_INTERVALS = 3
# Exponential backoff with full jitter for requests: uniform(0, min(cap, base * 2**n)).
RETRY_BASE_DELAY = 0.5
RETRY_MAX_DELAY = 8.0
# A Retry-After longer than this is not waited out silently: the caller gets the error.
MAX_RETRY_AFTER = 60.0
# Streams reconnect after the server's `retry:` (3 s until it says otherwise), doubling
# on consecutive failures up to this cap.
DEFAULT_RECONNECT_DELAY = 3.0
MAX_RECONNECT_DELAY = 30.0

FileContent = bytes | str | os.PathLike[str]
"""A file to upload: a path, or its bytes (then named `statement`)."""
FileInput = FileContent | tuple[str, bytes]
"""A path, raw bytes, or `(filename, bytes)`."""


@dataclass(frozen=True)
class Config:
    """Settings shared by every call of one client."""

    api_key: str
    base_url: str
    timeout: httpx.Timeout
    max_retries: int
    heartbeat_interval: float
    # Consecutive failed connects after which a stream gives up (None: it never does).
    stream_connect_attempts: int | None = None

    @classmethod
    def create(
        cls,
        api_key: str | None,
        base_url: str | None,
        timeout: float | httpx.Timeout,
        max_retries: int,
        heartbeat_interval: float,
        stream_connect_attempts: int | None = None,
    ) -> Config:
        """Fill what the caller left out from DEALSTREAM_API_KEY / DEALSTREAM_BASE_URL."""
        api_key = api_key or os.environ.get("DEALSTREAM_API_KEY", "")
        if not api_key:
            raise errors.DealstreamError(
                "No API key: pass api_key=... or set the DEALSTREAM_API_KEY environment variable."
            )
        base_url = (base_url or os.environ.get("DEALSTREAM_BASE_URL") or DEFAULT_BASE_URL).rstrip("/")
        if max_retries < 0:
            raise ValueError("max_retries must be >= 0")
        if heartbeat_interval <= 0:
            raise ValueError("heartbeat_interval must be > 0")
        if stream_connect_attempts is not None and stream_connect_attempts < 1:
            raise ValueError("stream_connect_attempts must be >= 1 (or None: retry for ever)")
        if not isinstance(timeout, httpx.Timeout):
            timeout = httpx.Timeout(timeout)
        return cls(api_key, base_url, timeout, max_retries, heartbeat_interval, stream_connect_attempts)

    def default_headers(self) -> dict[str, str]:
        return {
            "Authorization": f"Bearer {self.api_key}",
            "Accept": "application/json",
            "User-Agent": f"dealstream-python/{VERSION} httpx/{httpx.__version__}",
        }

    def stream_timeout(self) -> httpx.Timeout:
        # The heartbeat watchdog is the read timeout: httpx raises ReadTimeout when no byte
        # at all (not even a `: heartbeat` comment) arrived for that long, and we reconnect.
        return httpx.Timeout(
            connect=self.timeout.connect,
            read=self.heartbeat_interval * WATCHDOG_INTERVALS,
            write=self.timeout.write,
            pool=self.timeout.pool,
        )

    def url(self, path: str) -> str:
        """The absolute URL of an API path (a `next` link is already absolute)."""
        return path if "://" in path else self.base_url + path

    def same_origin_url(self, url: str) -> str:
        """`url` moved onto the base URL's origin, so the API key never goes to another host."""
        target, base = urlsplit(url), urlsplit(self.base_url)
        return urlunsplit((base.scheme, base.netloc, target.path, target.query, ""))


def new_request_id() -> str:
    return f"req_{uuid.uuid4().hex}"


# ---------------------------------------------------------------------------- requests


@dataclass(frozen=True)
class Call(Generic[T]):
    """One API call, described but not performed.

    `creates`: a POST that creates something; it carries an Idempotency-Key, generated once
    and reused by every retry, so retrying never creates twice. `replayable`: the call may
    be sent again after an ambiguous failure (a 5xx, a dropped connection), because doing
    it twice is harmless; other calls are only retried when the server surely did nothing.
    """

    method: str
    path: str
    params: Mapping[str, str | int] | None = None
    json: Any = None
    data: Mapping[str, str] | None = None
    files: list[tuple[str, tuple[str, bytes, str]]] | None = None
    creates: bool = False
    replayable: bool = True
    parse: Callable[[Any], T] = field(default=lambda body: body)

    def next_page(self, next_url: str | None, config: Config) -> Call[T] | None:
        """The call fetching the page after this one, from a list's `next` URL."""
        if not next_url:
            return None
        return replace(self, path=config.same_origin_url(next_url), params=None)


def read_file(file: FileInput) -> tuple[str, bytes, str]:
    """`(filename, content, content type)` of an upload, read once so retries resend it."""
    if isinstance(file, tuple):
        name, content = file
    elif isinstance(file, bytes):
        name, content = "statement", file
    else:
        with open(file, "rb") as handle:
            content = handle.read()
        name = os.path.basename(os.fspath(file))
    return name, content, _content_type(name)


def _content_type(name: str) -> str:
    lowered = name.lower()
    for suffix, kind in (
        (".csv", "text/csv"),
        (".ofx", "application/x-ofx"),
        (".qfx", "application/x-ofx"),
        (".pdf", "application/pdf"),
        (".zip", "application/zip"),
    ):
        if lowered.endswith(suffix):
            return kind
    return "application/octet-stream"


def parse_body(content: bytes) -> Any:
    if not content:
        return None
    try:
        return json.loads(content)
    except ValueError:
        return content.decode("utf-8", errors="replace")


def retry_after_seconds(headers: Mapping[str, str]) -> float | None:
    """`Retry-After` as seconds: either a number or an HTTP date."""
    raw = headers.get("retry-after")
    if raw is None:
        return None
    raw = raw.strip()
    try:
        seconds = float(raw)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(raw)
        except (TypeError, ValueError):
            return None
        seconds = when.timestamp() - time.time()
    if math.isnan(seconds) or math.isinf(seconds):
        return None
    return max(0.0, seconds)


_ERRORS: dict[int, type[errors.DealstreamError]] = {
    400: errors.ValidationError,
    401: errors.AuthenticationError,
    402: errors.QuotaExceededError,
    403: errors.PermissionDeniedError,
    404: errors.NotFoundError,
    409: errors.ConflictError,
    429: errors.RateLimitError,
}


def error_from_response(status: int, headers: Mapping[str, str], content: bytes) -> errors.DealstreamError:
    """The exception for an error answer, read from the envelope `{"error": {...}, "request_id"}`."""
    body = parse_body(content)
    envelope = body.get("error") if isinstance(body, dict) else None
    if isinstance(envelope, dict):
        code = str(envelope.get("code") or "")
        message = str(envelope.get("message") or "")
        fields = envelope.get("fields") if isinstance(envelope.get("fields"), dict) else {}
    else:
        code, fields = "", {}
        message = body.strip()[:300] if isinstance(body, str) else ""
    message = message or f"HTTP {status}"
    request_id = (body.get("request_id") if isinstance(body, dict) else None) or headers.get("x-request-id")
    kwargs: dict[str, Any] = {"status": status, "code": code, "request_id": request_id, "body": body}
    kind = _ERRORS.get(status) or (errors.ServerError if status >= 500 else errors.DealstreamError)
    if kind is errors.ValidationError:
        return errors.ValidationError(message, fields=fields, **kwargs)
    if kind is errors.RateLimitError:
        return errors.RateLimitError(message, retry_after=retry_after_seconds(headers), **kwargs)
    return kind(message, **kwargs)


def result_of(call: Call[T], status: int, headers: Mapping[str, str], content: bytes) -> T:
    """The call's result, or the exception the answer stands for."""
    if not 200 <= status < 300:
        raise error_from_response(status, headers, content)
    return call.parse(parse_body(content))


def backoff_delay(attempt: int) -> float:
    """Full jitter: anywhere between 0 and the exponential bound, so clients spread out."""
    return random.uniform(0, min(RETRY_MAX_DELAY, RETRY_BASE_DELAY * 2.0**attempt))


# Failures that happen before the request reaches the server: always safe to retry.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
# Failures after which the server may or may not have acted.
_AMBIGUOUS = (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError)


class Attempts:
    """Retry bookkeeping of one call: its ids, and whether (and when) to try again."""

    def __init__(self, config: Config, call: Call[Any]) -> None:
        self.config = config
        self.call = call
        self.retries = 0
        # One request id per call, kept across its retries, so the server's logs tie them together.
        self.request_id = new_request_id()
        self.idempotency_key = str(uuid.uuid4()) if call.creates else None

    def request(self) -> dict[str, Any]:
        """Keyword arguments for `httpx.Client.request` / `AsyncClient.request`."""
        headers = {**self.config.default_headers(), "X-Request-ID": self.request_id}
        if self.idempotency_key:
            headers["Idempotency-Key"] = self.idempotency_key
        return {
            "method": self.call.method,
            "url": self.config.url(self.call.path),
            "params": self.call.params,
            "json": self.call.json,
            "data": self.call.data,
            "files": self.call.files,
            "headers": headers,
            "timeout": self.config.timeout,
        }

    def delay_after_response(self, status: int, headers: Mapping[str, str], content: bytes) -> float | None:
        """Seconds to wait before retrying this answer, or None to return or raise it."""
        if status == 429:
            retryable = True  # the limiter refuses before the view runs: nothing happened
        elif status >= 500:
            retryable = self.call.replayable
        elif status == 409 and self.idempotency_key:
            # The first attempt with this key is still running on the server.
            body = parse_body(content)
            retryable = isinstance(body, dict) and _error_code(body) == "idempotency_in_progress"
        else:
            retryable = False
        if not retryable or self.retries >= self.config.max_retries:
            return None
        retry_after = retry_after_seconds(headers)
        if retry_after is not None and retry_after > MAX_RETRY_AFTER:
            return None
        delay = retry_after if retry_after is not None else backoff_delay(self.retries)
        self.retries += 1
        logger.info(
            "Retrying %s %s in %.2fs after HTTP %s (request id %s)",
            self.call.method,
            self.call.path,
            delay,
            status,
            self.request_id,
        )
        return delay

    def delay_after_error(self, exc: httpx.TransportError) -> float | None:
        """Seconds to wait before retrying after a transport failure, or None to give up."""
        if isinstance(exc, _NOT_SENT):
            retryable = True
        else:
            retryable = isinstance(exc, _AMBIGUOUS) and self.call.replayable
        if not retryable or self.retries >= self.config.max_retries:
            return None
        delay = backoff_delay(self.retries)
        self.retries += 1
        logger.info("Retrying %s %s in %.2fs after %r", self.call.method, self.call.path, delay, exc)
        return delay

    def connection_error(self, exc: httpx.TransportError) -> errors.APIConnectionError:
        return errors.APIConnectionError(
            f"Cannot reach {self.config.base_url}: {transport_reason(exc)}", request_id=self.request_id
        )


def transport_reason(exc: Exception) -> str:
    """A transport failure in a few plain words ("connection refused"), without errno noise."""
    text = re.sub(r"^\[Errno -?\d+\]\s*", "", str(exc).strip())
    if not text:
        return type(exc).__name__
    return text[0].lower() + text[1:]


def _error_code(body: dict[str, Any]) -> str:
    envelope = body.get("error")
    return str(envelope.get("code", "")) if isinstance(envelope, dict) else ""


# ----------------------------------------------------------------------------- streams


@dataclass(frozen=True)
class StreamTarget:
    """What a stream connects to and when it is over.

    `final`: events after which the stream ends at once. `terminal`: events after which the
    server closing the stream ends it (instead of a reconnection). `resumable`: events carry
    ids and a reconnection resumes after the last one; otherwise a break raises StreamError.
    """

    method: str
    path: str
    json: Any = None
    resumable: bool = True
    terminal: frozenset[str] = frozenset()
    final: frozenset[str] = frozenset()


Opened = Literal["stream", "end", "error"]


class StreamSession:
    """The reconnection logic of one stream, across all its connections."""

    def __init__(self, config: Config, target: StreamTarget, last_event_id: str | int | None = None) -> None:
        self.config = config
        self.target = target
        self.decoder = SSEDecoder("" if last_event_id is None else str(last_event_id))
        self.retry_seconds = DEFAULT_RECONNECT_DELAY
        self.failures = 0  # consecutive connections that ended without any sign of life
        self.saw_terminal = False
        self.finished = False
        self.delay = 0.0  # to wait before the next connection
        self.request_id = new_request_id()
        self.idempotency_key = str(uuid.uuid4()) if target.method == "POST" else None
        self._signs_of_life = 0
        self.connect_failures = 0  # consecutive connections that could not be made at all

    @property
    def last_event_id(self) -> str:
        """The id a reconnection resumes after ("" when no event with an id arrived yet)."""
        return self.decoder.last_event_id

    def request(self) -> dict[str, Any]:
        """Keyword arguments for `httpx.Client.stream` / `AsyncClient.stream`."""
        headers: dict[str, str | bytes] = {
            **self.config.default_headers(),
            "Accept": "text/event-stream",
            "Cache-Control": "no-cache",
            "X-Request-ID": self.request_id,
        }
        if self.idempotency_key:
            headers["Idempotency-Key"] = self.idempotency_key
        if self.target.resumable and self.last_event_id:
            # An id is any text but NUL and line breaks; bytes keep httpx from rejecting non-ASCII.
            headers["Last-Event-ID"] = self.last_event_id.encode()
        return {
            "method": self.target.method,
            "url": self.config.url(self.target.path),
            "json": self.target.json,
            "headers": headers,
            "timeout": self.config.stream_timeout(),
        }

    def on_open(self, status: int, headers: Mapping[str, str]) -> Opened:
        """What to do with a (re)connection's answer: read the stream, end, or read the error."""
        if status == 204:
            # "No content": the server says there is nothing more (EventSource stops too).
            self.finished = True
            return "end"
        if not 200 <= status < 300:
            return "error"
        content_type = headers.get("content-type", "")
        if not content_type.startswith("text/event-stream"):
            raise errors.DealstreamError(
                f"Expected an event stream from {self.target.path}, got {content_type or 'no content type'!r}.",
                status=status,
                request_id=headers.get("x-request-id"),
            )
        self.decoder = SSEDecoder(self.decoder.last_event_id)
        self._signs_of_life = 0
        if self.connect_failures:
            logger.warning("Reached %s again", self.config.base_url)
        self.connect_failures = 0
        return "stream"

    def on_error_response(self, status: int, headers: Mapping[str, str], content: bytes) -> None:
        """A refused (re)connection: raise its error, or schedule another attempt."""
        error = error_from_response(status, headers, content)
        if status != 429 and status < 500:
            raise error  # 400, 401, 403, 404...: trying again cannot help
        retry_after = retry_after_seconds(headers)
        self._schedule(error, floor=retry_after or 0.0)

    def on_connect_error(self, exc: httpx.TransportError) -> None:
        """The connection could not be made: schedule another attempt or give up.

        The first failure of an outage is a warning, not a debug line: a stream that retries
        in silence looks exactly like a quiet feed to whoever waits on it.
        """
        self.connect_failures += 1
        error = errors.APIConnectionError(
            f"Cannot reach {self.config.base_url}: {transport_reason(exc)}", request_id=self.request_id
        )
        bound = self.config.stream_connect_attempts
        if bound is not None and self.connect_failures >= bound:
            raise error
        if self.connect_failures == 1:
            logger.warning("%s; retrying", error.message, extra={"dealstream_unreachable": True})
        self._schedule(error)

    def on_chunk(self, chunk: bytes) -> list[Event]:
        """The events completed by `chunk`; stops at a final event."""
        comments = self.decoder.comments
        events = self.decoder.feed(chunk)
        if self.decoder.retry is not None:
            self.retry_seconds = self.decoder.retry / 1000
        if events or self.decoder.comments != comments:
            self._signs_of_life += 1
            self.failures = 0
        for index, event in enumerate(events):
            if event.type in self.target.final:
                self.finished = True
                return events[: index + 1]
            if event.type in self.target.terminal:
                self.saw_terminal = True
        return events

    def on_disconnect(self, exc: Exception | None) -> None:
        """The connection ended: cleanly (`exc` None) or not. Decide whether to reconnect."""
        self.decoder.close()  # drops a half-received event
        if self.finished:
            return
        if exc is None and self.saw_terminal:
            self.finished = True
            return
        if not self.target.resumable:
            raise errors.StreamError(
                f"The stream from {self.target.path} broke before its end"
                + (f": {exc!r}" if exc else "")
                + "; it cannot be resumed, start it again.",
                request_id=self.request_id,
            )
        reason = "no data for the watchdog interval" if isinstance(exc, httpx.ReadTimeout) else repr(exc)
        if self._signs_of_life == 0:
            self.failures += 1
        self.delay = self._reconnect_delay()
        logger.info(
            "Stream %s ended (%s); reconnecting in %.2fs after Last-Event-ID %r",
            self.target.path,
            reason if exc else "closed by the server",
            self.delay,
            self.last_event_id,
        )

    def _schedule(self, error: errors.DealstreamError, floor: float = 0.0) -> None:
        self.failures += 1
        if not self.target.resumable and self.failures > self.config.max_retries:
            raise error
        self.delay = max(floor, self._reconnect_delay())
        logger.info("Stream %s: %s; retrying in %.2fs", self.target.path, error, self.delay)

    def _reconnect_delay(self) -> float:
        # After a connection that worked, wait what the server asked (`retry:`); each
        # consecutive failure doubles that, up to a cap, with jitter so clients that
        # lost the same server do not all come back at the same instant.
        base = self.retry_seconds if self.failures <= 1 else max(self.retry_seconds, 0.1)
        bound = min(MAX_RECONNECT_DELAY, base * 2.0 ** min(max(self.failures - 1, 0), 16))
        return bound * random.uniform(1.0, 1.25)
