"""The asyncio client, `AsyncDealstream`: the surface of `Dealstream`, awaiting instead of blocking.

Requests, retries, errors and stream reconnection are decided in `_core` and the calls
described in `_calls`, exactly as for the synchronous client; only the waiting differs.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Mapping, Sequence
from types import TracebackType
from typing import Any, TypeVar

import httpx

from dealstream import _calls
from dealstream._calls import ClientInfo, Decision
from dealstream._client import RESET, TERMINAL_JOB_STATUSES
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
)
from dealstream.sse import Event

T = TypeVar("T")

# Looked up at call time, so tests can record the waits instead of sleeping through them.
_sleep = asyncio.sleep


class AsyncDealstream:
    """Asyncio client of the Dealstream API; see `Dealstream` for the options.

    async with AsyncDealstream() as client:
        deal = await client.deals.create("Acme Bakery")
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
        http_client: httpx.AsyncClient | None = None,
    ) -> None:
        self._config = Config.create(
            api_key, base_url, timeout, max_retries, heartbeat_interval, stream_connect_attempts
        )
        self._http = http_client or httpx.AsyncClient()
        self._owns_http = http_client is None
        self.deals = AsyncDeals(self)
        self.changes = AsyncChanges(self)
        self.batches = AsyncBatches(self)
        self.jobs = AsyncJobs(self)
        self.valuations = AsyncValuations(self)
        self.stream = AsyncStreams(self)

    @property
    def base_url(self) -> str:
        return self._config.base_url

    async def value_decision(
        self,
        url: str,
        *,
        override_product: Product | Mapping[str, Any] | None = None,
        client_info: ClientInfo | None = None,
    ) -> Valuation:
        """Value the product at `url`: read from its page, or described by `override_product`."""
        return await self._request(_calls.value_decision(url, override_product, client_info))

    def valuate_stream(
        self,
        url: str,
        *,
        override_product: Product | Mapping[str, Any] | None = None,
        client_info: ClientInfo | None = None,
    ) -> AsyncEventStream:
        """Stream a valuation: `start`, `progress`, `partial`, then `complete` or `error`.

        Not resumable (the server gives these events no ids): a connection that breaks
        mid-way raises StreamError.
        """
        return self._stream(_calls.valuation_stream(url, override_product, client_info))

    async def usage(self) -> Usage:
        """This month's billable jobs against the organisation's limit."""
        return await self._request(_calls.usage())

    async def close(self) -> None:
        """Close the connections (only those of an HTTP client the client created itself)."""
        if self._owns_http:
            await self._http.aclose()

    async def __aenter__(self) -> AsyncDealstream:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def _request(self, call: Call[T]) -> T:
        attempts = Attempts(self._config, call)
        while True:
            try:
                response = await self._http.request(**attempts.request())
            except httpx.TransportError as exc:
                delay = attempts.delay_after_error(exc)
                if delay is None:
                    raise attempts.connection_error(exc) from exc
                await _sleep(delay)
                continue
            delay = attempts.delay_after_response(response.status_code, response.headers, response.content)
            if delay is None:
                return result_of(call, response.status_code, response.headers, response.content)
            await _sleep(delay)

    async def _paginate(self, call: Call[Page[T]]) -> AsyncIterator[T]:
        page_call: Call[Page[T]] | None = call
        while page_call is not None:
            page = await self._request(page_call)
            for item in page["results"]:
                yield item
            page_call = page_call.next_page(page.get("next"), self._config)

    def _stream(self, target: StreamTarget, last_event_id: str | int | None = None) -> AsyncEventStream:
        return AsyncEventStream(self._http, StreamSession(self._config, target, last_event_id))


class AsyncEventStream:
    """A live stream of `Event`s for `async with` and `async for`; see `EventStream`."""

    def __init__(self, http: httpx.AsyncClient, session: StreamSession) -> None:
        self._http = http
        self._session = session
        self._events: AsyncGenerator[Event, None] | None = None

    @property
    def last_event_id(self) -> str:
        """The id of the last event received ("" before any): pass it to resume later."""
        return self._session.last_event_id

    async def __aenter__(self) -> AsyncEventStream:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    def __aiter__(self) -> AsyncIterator[Event]:
        if self._events is None:
            self._events = self._run()
        return self._events

    async def close(self) -> None:
        """Stop listening and close the connection."""
        if self._events is None:
            self._events = _empty()
        await self._events.aclose()  # runs the generator's cleanup: the response is closed

    async def _run(self) -> AsyncGenerator[Event, None]:
        session = self._session
        while not session.finished:
            if session.delay:
                await _sleep(session.delay)
                session.delay = 0.0
            try:
                async with self._http.stream(**session.request()) as response:
                    opened = session.on_open(response.status_code, response.headers)
                    if opened == "end":
                        return
                    if opened == "error":
                        await response.aread()
                        session.on_error_response(response.status_code, response.headers, response.content)
                        continue
                    try:
                        async for chunk in response.aiter_bytes():
                            for event in session.on_chunk(chunk):
                                yield event
                            if session.finished:
                                break
                    except httpx.TransportError as exc:  # includes the watchdog's ReadTimeout
                        session.on_disconnect(exc)
                    else:
                        session.on_disconnect(None)
            except httpx.TransportError as exc:
                session.on_connect_error(exc)


async def _empty() -> AsyncGenerator[Event, None]:
    return
    yield  # makes this an async generator


class AsyncDealWatch:
    """`DealWatch` for asyncio: the snapshot is read when the `async with` block starts.

    async with client.deals.watch(42) as watch:
        show(watch.deal)
        async for event in watch:
            ...
    """

    def __init__(self, client: AsyncDealstream, deal_id: int, types: str | None = None) -> None:
        self._client = client
        self._deal_id = deal_id
        self._types = types
        self._deal: Deal | None = None
        self._stream: AsyncEventStream | None = None

    @property
    def deal(self) -> Deal:
        """The latest snapshot of the deal (read when the `async with` block started)."""
        if self._deal is None:
            raise RuntimeError("Use the watch in `async with` (the snapshot is read there).")
        return self._deal

    async def __aenter__(self) -> AsyncDealWatch:
        self._deal = await self._client.deals.get(self._deal_id)
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._stream is not None:
            await self._stream.close()

    async def __aiter__(self) -> AsyncIterator[Event]:
        while True:
            self._stream = self._client.stream.deal(
                self._deal_id, last_event_id=self.deal.get("event_position"), types=self._types
            )
            async with self._stream as stream:
                async for event in stream:
                    if event.type == RESET:
                        self._deal = await self._client.deals.get(self._deal_id)
                        yield event
                        break  # reopen from the new snapshot's position
                    yield event
                else:
                    return


class _AsyncResource:
    def __init__(self, client: AsyncDealstream) -> None:
        self._client = client


class AsyncDeals(_AsyncResource):
    """Deals: underwriting files that statements are uploaded to and decisions taken on."""

    async def create(
        self,
        business_name: str,
        *,
        amount_requested: float | str | None = None,
        external_ref: str | None = None,
    ) -> Deal:
        """Create a deal (status `new`)."""
        return await self._client._request(_calls.create_deal(business_name, amount_requested, external_ref))

    async def get(self, deal_id: int) -> Deal:
        """A deal with its statements, health score, flags and decision."""
        return await self._client._request(_calls.get_deal(deal_id))

    def watch(self, deal_id: int, *, types: str | None = None) -> AsyncDealWatch:
        """The deal and then every change to it, live; see `AsyncDealWatch`."""
        return AsyncDealWatch(self._client, deal_id, types)

    async def upload_statement(self, deal_id: int, file: FileInput) -> StatementUpload:
        """Upload a bank statement (CSV, OFX/QFX or PDF: a path, bytes or `(name, bytes)`)."""
        return await self._client._request(_calls.upload_statement(deal_id, file))

    async def decide(self, deal_id: int, decision: Decision, note: str | None = None) -> Deal:
        """Approve or decline a deal that is `under_review`."""
        return await self._client._request(_calls.decide(deal_id, decision, note))

    def list(self, *, status: str | None = None, search: str | None = None) -> AsyncIterator[Deal]:
        """Every matching deal, newest first, fetching further pages as you iterate (`async for`)."""
        return self._client._paginate(_calls.list_deals(status, search))


class AsyncChanges(_AsyncResource):
    """Proposed changes (`proposed_change` events) awaiting a human."""

    async def approve(self, change_id: str) -> Change:
        """Apply a proposed change."""
        return await self._client._request(_calls.approve_change(change_id))

    async def reject(self, change_id: str) -> Change:
        """Discard a proposed change."""
        return await self._client._request(_calls.reject_change(change_id))


class AsyncBatches(_AsyncResource):
    """Bulk ingest: many documents for one deal, processed in parallel."""

    async def create(self, deal_id: int, files: Sequence[FileInput]) -> BatchCreated:
        """Upload documents (a `.zip` counts as its members); returns `batch_id` and `total`."""
        return await self._client._request(_calls.create_batch(deal_id, files))

    async def get(self, batch_id: str) -> Batch:
        """A batch and its progress."""
        return await self._client._request(_calls.get_batch(batch_id))


class AsyncJobs(_AsyncResource):
    """Asynchronous units of work: statements, batch documents, valuations."""

    async def get(self, job_id: str) -> Job:
        """A job's current state."""
        return await self._client._request(_calls.get_job(job_id))

    async def cancel(self, job_id: str) -> Job:
        """Ask a queued or running job to stop at its next stage boundary (409 once it ended)."""
        return await self._client._request(_calls.cancel_job(job_id))

    async def create_valuation(self, input: Mapping[str, Any]) -> Job:
        """Queue a valuation job; `input` is a value-decision request (`url`, `overrideProduct`...)."""
        return await self._client._request(_calls.create_valuation_job(input))

    async def wait(self, job_id: str, on_event: Callable[[Event], object] | None = None) -> Job:
        """Follow the job's feed until it ends and return the finished job (see `Jobs.wait`)."""
        job = await self.get(job_id)
        if job["status"] in TERMINAL_JOB_STATUSES:
            return job
        async with self._client.stream.job(job_id) as events:
            async for event in events:
                if on_event is not None:
                    on_event(event)
        return await self.get(job_id)

    def list(self, *, status: str | None = None, type: str | None = None) -> AsyncIterator[Job]:
        """Every matching job, newest first, fetching further pages as you iterate (`async for`)."""
        return self._client._paginate(_calls.list_jobs(status, type))


class AsyncValuations(_AsyncResource):
    """Stored valuations."""

    async def purge(self, client_id: str) -> PurgeResult:
        """Delete every stored valuation requested by `client_id` (its `client.id`)."""
        return await self._client._request(_calls.purge_valuations(client_id))


class AsyncStreams(_AsyncResource):
    """The live event feeds, as `AsyncEventStream`s for `async with` / `async for`."""

    def org(self, *, last_event_id: str | int | None = None, types: str | None = None) -> AsyncEventStream:
        """Every event of the organisation. Never ends by itself."""
        return self._client._stream(_calls.org_feed(types), last_event_id)

    def deal(
        self, deal_id: int, *, last_event_id: str | int | None = None, types: str | None = None
    ) -> AsyncEventStream:
        """One deal's processing, status, proposal and decision events. Never ends by itself."""
        return self._client._stream(_calls.deal_feed(deal_id, types), last_event_id)

    def batch(
        self, batch_id: str, *, last_event_id: str | int | None = None, types: str | None = None
    ) -> AsyncEventStream:
        """One batch's document events; ends after `batch.completed`."""
        return self._client._stream(_calls.batch_feed(batch_id, types), last_event_id)

    def job(
        self, job_id: str, *, last_event_id: str | int | None = None, types: str | None = None
    ) -> AsyncEventStream:
        """One job's `status`/`progress` events; ends after its terminal event (and `usage`)."""
        return self._client._stream(_calls.job_feed(job_id, types), last_event_id)
