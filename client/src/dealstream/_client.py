"""The synchronous client, `Dealstream`: thin I/O around the decisions made in `_core`."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable, Generator, Iterator, Mapping, Sequence
from types import TracebackType
from typing import Any, TypeVar

import httpx

from dealstream import _calls
from dealstream._calls import ClientInfo, Decision
from dealstream._core import (
    DEFAULT_HEARTBEAT_INTERVAL,
    DEFAULT_TIMEOUT,
    Attempts,
    Call,
    Config,
    FileInput,
    StreamSession,
    StreamTarget,
    result_of,
)
from dealstream.models import (
    Batch,
    BatchCreated,
    Change,
    Deal,
    Job,
    Page,
    Product,
    PurgeResult,
    StatementUpload,
    Usage,
    Valuation,
    Webhook,
    WebhookDelivery,
)
from dealstream.sse import Event

T = TypeVar("T")

# Looked up at call time, so tests can record the waits instead of sleeping through them.
_sleep = time.sleep

TERMINAL_JOB_STATUSES = frozenset({"completed", "failed", "canceled"})


class Dealstream:
    """Client of the Dealstream API.

    `api_key` and `base_url` default to the DEALSTREAM_API_KEY and DEALSTREAM_BASE_URL
    environment variables (the base URL to `http://127.0.0.1:8000`). Failed calls are
    retried up to `max_retries` times on 429, 5xx and connection errors; streams presume
    a connection dead after three `heartbeat_interval`s of silence and reconnect.

        with Dealstream() as client:
            deal = client.deals.create("Acme Bakery")
    """

    def __init__(
        self,
        api_key: str | None = None,
        base_url: str | None = None,
        *,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        max_retries: int = 3,
        heartbeat_interval: float = DEFAULT_HEARTBEAT_INTERVAL,
        stream_connect_attempts: int | None = None,
        http_client: httpx.Client | None = None,
    ) -> None:
        self._config = Config.create(
            api_key, base_url, timeout, max_retries, heartbeat_interval, stream_connect_attempts
        )
        self._http = http_client or httpx.Client()
        self._owns_http = http_client is None
        self.deals = Deals(self)
        self.changes = Changes(self)
        self.batches = Batches(self)
        self.jobs = Jobs(self)
        self.valuations = Valuations(self)
        self.webhooks = Webhooks(self)
        self.stream = Streams(self)

    @property
    def base_url(self) -> str:
        return self._config.base_url

    def value_decision(
        self,
        url: str,
        *,
        override_product: Product | Mapping[str, Any] | None = None,
        client_info: ClientInfo | None = None,
    ) -> Valuation:
        """Value the product at `url`: read from its page, or described by `override_product`."""
        return self._request(_calls.value_decision(url, override_product, client_info))

    def valuate_stream(
        self,
        url: str,
        *,
        override_product: Product | Mapping[str, Any] | None = None,
        client_info: ClientInfo | None = None,
    ) -> EventStream:
        """Stream a valuation: `start`, `progress`, `partial`, then `complete` or `error`.

        Not resumable (the server gives these events no ids): a connection that breaks
        mid-way raises StreamError.
        """
        return self._stream(_calls.valuation_stream(url, override_product, client_info))

    def usage(self) -> Usage:
        """This month's billable jobs against the organisation's limit."""
        return self._request(_calls.usage())

    def close(self) -> None:
        """Close the connections (only those of an HTTP client the client created itself)."""
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> Dealstream:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _request(self, call: Call[T]) -> T:
        attempts = Attempts(self._config, call)
        while True:
            try:
                response = self._http.request(**attempts.request())
            except httpx.TransportError as exc:
                delay = attempts.delay_after_error(exc)
                if delay is None:
                    raise attempts.connection_error(exc) from exc
                _sleep(delay)
                continue
            delay = attempts.delay_after_response(response.status_code, response.headers, response.content)
            if delay is None:
                return result_of(call, response.status_code, response.headers, response.content)
            _sleep(delay)

    def _paginate(self, call: Call[Page[T]]) -> Iterator[T]:
        page_call: Call[Page[T]] | None = call
        while page_call is not None:
            page = self._request(page_call)
            yield from page["results"]
            page_call = page_call.next_page(page.get("next"), self._config)

    def _stream(self, target: StreamTarget, last_event_id: str | int | None = None) -> EventStream:
        return EventStream(self._http, StreamSession(self._config, target, last_event_id))


class EventStream:
    """A live stream of `Event`s; use it as a context manager and iterate over it.

        with client.stream.deal(42) as stream:
            for event in stream:
                print(event.type, event.data)

    It reconnects by itself (sending `Last-Event-ID`, so nothing is missed or repeated)
    and ends when the server says the feed is over. `close()` may be called from any
    thread: the iterating thread's `for` loop then ends.
    """

    def __init__(self, http: httpx.Client, session: StreamSession) -> None:
        self._http = http
        self._session = session
        self._events: Generator[Event, None, None] | None = None
        self._closing = threading.Event()
        self._response: httpx.Response | None = None

    @property
    def last_event_id(self) -> str:
        """The id of the last event received ("" before any): pass it to resume later."""
        return self._session.last_event_id

    def __enter__(self) -> EventStream:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __iter__(self) -> Iterator[Event]:
        if self._events is None:
            self._events = self._run()
        return self._events

    def close(self) -> None:
        """Stop listening and close the connection (from this thread or another one)."""
        self._closing.set()
        if self._events is None:
            self._events = _empty()
        try:
            self._events.close()  # runs the generator's cleanup: the response is closed
        except ValueError:
            # "generator already executing": another thread is blocked reading. Shutting the
            # socket down wakes that read; the generator sees `_closing` and ends there.
            _shut_down(self._response)

    def _run(self) -> Generator[Event, None, None]:
        session = self._session
        while not (session.finished or self._closing.is_set()):
            if session.delay:
                _pause(self._closing, session.delay)
                session.delay = 0.0
                continue
            try:
                with self._http.stream(**session.request()) as response:
                    self._response = response
                    if self._closing.is_set():  # closed while connecting: `close()` saw no response
                        return
                    opened = session.on_open(response.status_code, response.headers)
                    if opened == "end":
                        return
                    if opened == "error":
                        response.read()
                        session.on_error_response(response.status_code, response.headers, response.content)
                        continue
                    try:
                        for chunk in response.iter_bytes():
                            yield from session.on_chunk(chunk)
                            if session.finished:
                                break
                    except httpx.TransportError as exc:  # includes the watchdog's ReadTimeout
                        if self._closing.is_set():
                            return
                        session.on_disconnect(exc)
                    else:
                        session.on_disconnect(None)
            except httpx.TransportError as exc:
                if self._closing.is_set():
                    return
                session.on_connect_error(exc)
            finally:
                self._response = None


def _pause(closing: threading.Event, seconds: float) -> None:
    """Wait before a reconnection; a `close()` from another thread cuts the wait short."""
    closing.wait(seconds)


def _shut_down(response: httpx.Response | None) -> None:
    stream = response.extensions.get("network_stream") if response is not None else None
    sock = stream.get_extra_info("socket") if stream is not None else None
    if sock is None:
        return
    with contextlib.suppress(OSError):  # already closed by the other side
        sock.shutdown(socket.SHUT_RDWR)


def _empty() -> Generator[Event, None, None]:
    yield from ()


RESET = "stream.reset"


class DealWatch:
    """A deal's snapshot, then every event of its feed after it: none missed, none repeated.

        with client.deals.watch(42) as watch:
            show(watch.deal)                    # read when the block starts
            for event in watch:
                if event.type == "stream.reset":
                    show(watch.deal)            # read again: the feed could not resume
                else:
                    apply(event)

    The deal is read with its feed's position (`event_position`) and the feed opened from
    there, so the events are exactly the changes the snapshot does not show. When the server
    cannot resume (`stream.reset`, e.g. after a long outage), the deal is read again and the
    feed reopened from the new position before the reset event is handed on.
    """

    def __init__(self, client: Dealstream, deal_id: int, types: str | None = None) -> None:
        self._client = client
        self._deal_id = deal_id
        self._types = types
        self._deal: Deal | None = None
        self._stream: EventStream | None = None
        self._closing = threading.Event()

    @property
    def deal(self) -> Deal:
        """The latest snapshot of the deal (read on first use)."""
        if self._deal is None:
            self._deal = self._client.deals.get(self._deal_id)
        return self._deal

    def __enter__(self) -> DealWatch:
        self.deal  # noqa: B018 - the snapshot is taken when the block starts
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __iter__(self) -> Iterator[Event]:
        while not self._closing.is_set():
            self._stream = self._client.stream.deal(
                self._deal_id, last_event_id=self.deal.get("event_position"), types=self._types
            )
            with self._stream as stream:
                for event in stream:
                    if event.type == RESET:
                        self._deal = self._client.deals.get(self._deal_id)
                        yield event
                        break  # reopen from the new snapshot's position
                    yield event
                else:
                    return  # closed

    def close(self) -> None:
        """Stop watching (from this thread or another one)."""
        self._closing.set()
        if self._stream is not None:
            self._stream.close()


class _Resource:
    def __init__(self, client: Dealstream) -> None:
        self._client = client


class Deals(_Resource):
    """Deals: underwriting files that statements are uploaded to and decisions taken on."""

    def create(
        self,
        business_name: str,
        *,
        amount_requested: float | str | None = None,
        external_ref: str | None = None,
    ) -> Deal:
        """Create a deal (status `new`)."""
        return self._client._request(_calls.create_deal(business_name, amount_requested, external_ref))

    def get(self, deal_id: int) -> Deal:
        """A deal with its statements, health score, flags and decision."""
        return self._client._request(_calls.get_deal(deal_id))

    def watch(self, deal_id: int, *, types: str | None = None) -> DealWatch:
        """The deal and then every change to it, live; see `DealWatch`."""
        return DealWatch(self._client, deal_id, types)

    def upload_statement(self, deal_id: int, file: FileInput) -> StatementUpload:
        """Upload a bank statement (CSV, OFX/QFX or PDF: a path, bytes or `(name, bytes)`).

        Returns at once with the statement's `job_id`; follow it with `jobs.wait` or
        `stream.job`.
        """
        return self._client._request(_calls.upload_statement(deal_id, file))

    def decide(self, deal_id: int, decision: Decision, note: str | None = None) -> Deal:
        """Approve or decline a deal that is `under_review`."""
        return self._client._request(_calls.decide(deal_id, decision, note))

    def list(self, *, status: str | None = None, search: str | None = None) -> Iterator[Deal]:
        """Every matching deal, newest first, fetching further pages as you iterate."""
        return self._client._paginate(_calls.list_deals(status, search))


class Changes(_Resource):
    """Proposed changes (`proposed_change` events) awaiting a human."""

    def approve(self, change_id: str) -> Change:
        """Apply a proposed change."""
        return self._client._request(_calls.approve_change(change_id))

    def reject(self, change_id: str) -> Change:
        """Discard a proposed change."""
        return self._client._request(_calls.reject_change(change_id))


class Batches(_Resource):
    """Bulk ingest: many documents for one deal, processed in parallel."""

    def create(self, deal_id: int, files: Sequence[FileInput]) -> BatchCreated:
        """Upload documents (a `.zip` counts as its members); returns `batch_id` and `total`."""
        return self._client._request(_calls.create_batch(deal_id, files))

    def get(self, batch_id: str) -> Batch:
        """A batch and its progress."""
        return self._client._request(_calls.get_batch(batch_id))


class Jobs(_Resource):
    """Asynchronous units of work: statements, batch documents, valuations."""

    def get(self, job_id: str) -> Job:
        """A job's current state."""
        return self._client._request(_calls.get_job(job_id))

    def cancel(self, job_id: str) -> Job:
        """Ask a queued or running job to stop at its next stage boundary (409 once it ended)."""
        return self._client._request(_calls.cancel_job(job_id))

    def create_valuation(self, input: Mapping[str, Any]) -> Job:
        """Queue a valuation job; `input` is a value-decision request (`url`, `overrideProduct`...)."""
        return self._client._request(_calls.create_valuation_job(input))

    def wait(self, job_id: str, on_event: Callable[[Event], object] | None = None) -> Job:
        """Follow the job's feed until it ends and return the finished job.

        `on_event` sees every event of the feed (`status`, `progress`, the terminal event,
        `usage`). A job that has already finished is returned at once.
        """
        job = self.get(job_id)
        if job["status"] in TERMINAL_JOB_STATUSES:
            return job
        with self._client.stream.job(job_id) as events:
            for event in events:
                if on_event is not None:
                    on_event(event)
        return self.get(job_id)

    def list(self, *, status: str | None = None, type: str | None = None) -> Iterator[Job]:
        """Every matching job, newest first, fetching further pages as you iterate."""
        return self._client._paginate(_calls.list_jobs(status, type))


class Valuations(_Resource):
    """Stored valuations."""

    def purge(self, client_id: str) -> PurgeResult:
        """Delete every stored valuation requested by `client_id` (its `client.id`)."""
        return self._client._request(_calls.purge_valuations(client_id))


class Webhooks(_Resource):
    """Webhook endpoints: the organisation's events pushed, signed, to your URL."""

    def create(self, url: str, event_types: Sequence[str], *, description: str | None = None) -> Webhook:
        """Create an endpoint; the answer's `secret` (`whsec_…`) is shown only this once."""
        return self._client._request(_calls.create_webhook(url, event_types, description))

    def list(self) -> Iterator[Webhook]:
        """Every endpoint of the organisation, oldest first."""
        return self._client._paginate(_calls.list_webhooks())

    def get(self, webhook_id: str) -> Webhook:
        return self._client._request(_calls.get_webhook(webhook_id))

    def update(
        self,
        webhook_id: str,
        *,
        url: str | None = None,
        event_types: Sequence[str] | None = None,
        description: str | None = None,
        enabled: bool | None = None,
    ) -> Webhook:
        """Change an endpoint; `enabled=True` turns a disabled one back on."""
        changes: dict[str, Any] = {
            "url": url,
            "event_types": list(event_types) if event_types is not None else None,
            "description": description,
            "enabled": enabled,
        }
        body = {name: value for name, value in changes.items() if value is not None}
        return self._client._request(_calls.update_webhook(webhook_id, body))

    def delete(self, webhook_id: str) -> None:
        self._client._request(_calls.delete_webhook(webhook_id))

    def rotate_secret(self, webhook_id: str) -> Webhook:
        """A new secret (in the answer); the previous one keeps signing for 24 hours."""
        return self._client._request(_calls.rotate_webhook_secret(webhook_id))

    def ping(self, webhook_id: str) -> None:
        """Send a `webhook.ping`; its outcome shows in `deliveries`."""
        self._client._request(_calls.ping_webhook(webhook_id))

    def replay(self, webhook_id: str, since_id: int) -> dict[str, int]:
        """Deliver again every subscribed event after `since_id`, in order."""
        return self._client._request(_calls.replay_webhook(webhook_id, since_id))

    def deliveries(self, webhook_id: str) -> Iterator[WebhookDelivery]:
        """Every delivery attempt, newest first, fetching further pages as you iterate."""
        return self._client._paginate(_calls.list_webhook_deliveries(webhook_id))


class Streams(_Resource):
    """The live event feeds. Each returns an `EventStream` to use in a `with` block.

    `last_event_id` resumes after an event you saw earlier (e.g. in another process);
    `types` keeps only some event types (`"processing.*,deal.decision"`), and resuming a
    filtered stream is as exact as an unfiltered one.
    """

    def org(self, *, last_event_id: str | int | None = None, types: str | None = None) -> EventStream:
        """Every event of the organisation. Never ends by itself."""
        return self._client._stream(_calls.org_feed(types), last_event_id)

    def deal(
        self, deal_id: int, *, last_event_id: str | int | None = None, types: str | None = None
    ) -> EventStream:
        """One deal's processing, status, proposal and decision events. Never ends by itself."""
        return self._client._stream(_calls.deal_feed(deal_id, types), last_event_id)

    def batch(
        self, batch_id: str, *, last_event_id: str | int | None = None, types: str | None = None
    ) -> EventStream:
        """One batch's document events; ends after `batch.completed`."""
        return self._client._stream(_calls.batch_feed(batch_id, types), last_event_id)

    def job(
        self, job_id: str, *, last_event_id: str | int | None = None, types: str | None = None
    ) -> EventStream:
        """One job's `status`/`progress` events; ends after its terminal event (and `usage`)."""
        return self._client._stream(_calls.job_feed(job_id, types), last_event_id)
