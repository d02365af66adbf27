"""The client against the real product: real web processes, workers, PostgreSQL/Redis or SQLite.

Every method is exercised on both deployments; a stream is followed across a restart of
its web process; a job is followed to its end; the rate limit's 429 is waited out.
"""

from __future__ import annotations

import logging
import re
import signal
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from dealstream import (
    AsyncDealstream,
    AuthenticationError,
    ConflictError,
    Dealstream,
    Event,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ValidationError,
)

from tests.e2e.stack import Stack, distributed_stack, embedded_stack, free_port
from tests.jobs.factories import bad_file, healthy_csv

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]

HEARTBEAT = 0.5
SENTINEL = "Sentinel: the last deal"
STACK_ENV = {
    "RATE_LIMIT_PER_MINUTE": "100000",
    "SSE_HEARTBEAT_SECONDS": str(HEARTBEAT),
    # Reconnect quickly after a restart; the client doubles it on consecutive failures.
    "SSE_RETRY_MILLISECONDS": "200",
    "VALUATION_ALLOW_PRIVATE_URLS": "1",
    # Each pipeline stage waits this long (test-only), so a job can be canceled mid-way.
    "DEALSTREAM_TEST_STAGE_DELAY_SECONDS": "0.2",
}
PRODUCT: dict[str, Any] = {
    "brand": "Patagonia",
    "name": "Torrentshell Jacket",
    "category": "outerwear",
    "price": 179,
    "currency": "USD",
    "materials": [{"name": "recycled nylon", "percentage": 100}],
}


@dataclass
class Product:
    stack: Stack
    url: str

    def client(self, org: str | None = None, scopes: str = "read,write", **options: object) -> Dealstream:
        key = self.stack.create_key(org or f"Client E2E {uuid.uuid4().hex[:8]}", scopes)
        return Dealstream(key, self.url, heartbeat_interval=HEARTBEAT, **options)  # type: ignore[arg-type]


@pytest.fixture(scope="module", params=["distributed", "embedded"])
def product(request: pytest.FixtureRequest) -> Iterator[Product]:
    factory = distributed_stack if request.param == "distributed" else embedded_stack
    with factory(**STACK_ENV) as stack:
        url = stack.start_web("uvicorn")
        if request.param == "distributed":
            # Not stack.start_worker(): it waits for a "ready." line Celery's hijacked logger never writes.
            stack.start_worker()
        try:
            yield Product(stack, url)
        except BaseException:
            print(stack.logs()[-20000:])
            raise


@pytest.fixture
def statement(tmp_path: Path) -> Path:
    path = tmp_path / "january.csv"
    path.write_bytes(healthy_csv())
    return path


def test_deals_statements_proposals_and_decisions(product: Product, statement: Path) -> None:
    with product.client() as client:
        deal = client.deals.create("Bolt Logistics", amount_requested="25000.00", external_ref="crm-42")
        assert (deal["status"], deal["amount_requested"], deal["external_ref"]) == (
            "new",
            "25000.00",
            "crm-42",
        )

        upload = client.deals.upload_statement(deal["id"], statement)
        assert upload["status"] == "queued"
        assert client.jobs.wait(upload["job_id"])["status"] == "completed"

        reviewed = client.deals.get(deal["id"])
        assert reviewed["status"] == "under_review"
        assert reviewed["health_score"] is not None
        assert [s["filename"] for s in reviewed["statements"]] == ["january.csv"]
        proposal = reviewed["proposal"]
        assert proposal is not None
        rejected = client.changes.reject(proposal["change_id"])
        assert rejected["status"] == "rejected"
        with pytest.raises(ConflictError):
            client.changes.approve(proposal["change_id"])

        decided = client.deals.decide(deal["id"], "declined", note="Too many lenders")
        assert decided["status"] == "declined"
        assert decided["decision"] is not None
        assert decided["decision"]["note"] == "Too many lenders"
        with pytest.raises(ConflictError) as conflict:
            client.deals.decide(deal["id"], "approved")
        assert conflict.value.request_id
        with pytest.raises(ConflictError):
            client.deals.upload_statement(deal["id"], statement)
        assert deal["id"] in [d["id"] for d in client.deals.list(status="declined")]


def test_a_proposal_approved_from_the_deal_feed(product: Product, statement: Path) -> None:
    with product.client() as client:
        deal = client.deals.create("Harbor Foods")
        client.deals.upload_statement(deal["id"], ("february.csv", healthy_csv(days=45)))
        seen: list[Event] = []
        # Resume from 0: the deal's whole history, so nothing published before we connect is lost.
        with client.stream.deal(deal["id"], last_event_id=0) as stream:
            for event in stream:
                seen.append(event)
                if event.type == "proposed_change":
                    approved = client.changes.approve(event.data["change_id"])
                    assert approved["status"] == "approved"
                if event.type == "deal.decision":
                    break
        types = [e.type for e in seen]
        assert types[0] == "deal.status_changed"
        assert "processing.completed" in types
        decision = seen[-1].data
        assert decision["decision"] == client.deals.get(deal["id"])["status"]
        ids = [int(e.id) for e in seen if e.id]
        assert ids == sorted(set(ids))


def test_list_follows_every_page(product: Product) -> None:
    tag = uuid.uuid4().hex[:10]
    with product.client() as client:
        created = [client.deals.create(f"Paged {tag} {n}")["id"] for n in range(55)]  # a page holds 50
        listed = [d["id"] for d in client.deals.list(search=tag)]
    assert listed == sorted(created, reverse=True)


def test_a_batch_followed_to_its_end(product: Product) -> None:
    with product.client() as client:
        deal = client.deals.create("Batch Bakery")
        batch = client.batches.create(deal["id"], [("a.csv", healthy_csv()), ("photo.png", bad_file())])
        assert batch["total"] == 2
        with client.stream.batch(batch["batch_id"]) as stream:
            events = list(stream)  # ends by itself after batch.completed
        assert events[-1].type == "batch.completed"
        assert {e.type for e in events[:-1]} == {"batch.document_processed", "batch.document_failed"}
        stored = client.batches.get(batch["batch_id"])
        assert (stored["status"], stored["succeeded"], stored["failed"]) == ("completed", 1, 1)
        # Reconnecting after the last event: 204, an empty and finished stream.
        with client.stream.batch(batch["batch_id"], last_event_id=events[-1].id) as stream:
            assert list(stream) == []


def test_a_job_followed_to_completion(product: Product, statement: Path) -> None:
    with product.client() as client:
        before = client.usage()["monthly_used"]
        deal = client.deals.create("Wait & See")
        upload = client.deals.upload_statement(deal["id"], statement)
        seen: list[Event] = []
        job = client.jobs.wait(upload["job_id"], on_event=seen.append)
        assert job["status"] == "completed"
        assert job["progress"] == 1.0
        types = [e.type for e in seen]
        assert types[-2:] == ["completed", "usage"]
        progress = [e.data["progress"] for e in seen if e.type == "progress"]
        assert progress == sorted(progress)
        assert len(progress) >= 3
        assert client.usage()["monthly_used"] == before + 1
        assert client.jobs.get(upload["job_id"])["status"] == "completed"
        assert upload["job_id"] in [j["id"] for j in client.jobs.list(status="completed")]
        with pytest.raises(ConflictError):
            client.jobs.cancel(upload["job_id"])


def test_a_job_canceled_mid_way(product: Product, statement: Path) -> None:
    with product.client() as client:
        deal = client.deals.create("Cancel Co")
        upload = client.deals.upload_statement(deal["id"], statement)
        assert client.jobs.cancel(upload["job_id"])["cancel_requested"] is True
        assert client.jobs.wait(upload["job_id"])["status"] == "canceled"


def test_a_failed_statement_ends_its_job_failed(product: Product) -> None:
    with product.client() as client:
        deal = client.deals.create("Bad File Ltd")
        upload = client.deals.upload_statement(deal["id"], ("photo.png", bad_file()))
        job = client.jobs.wait(upload["job_id"])
        assert job["status"] == "failed"
        assert job["error"] == "Unsupported file format"


def test_valuations_now_streamed_and_as_jobs(product: Product) -> None:
    client_id = f"app-{uuid.uuid4().hex[:8]}"
    url = "https://shop.example/torrentshell"
    with product.client() as client:
        valuation = client.value_decision(url, override_product=PRODUCT, client_info={"id": client_id})
        assert 0 <= valuation["priceFairnessScore"] <= 100
        assert valuation["fairPriceRange"]["currency"] == "USD"

        with client.valuate_stream(url, override_product=PRODUCT, client_info={"id": client_id}) as stream:
            events = list(stream)
        assert events[0].type == "start"
        assert events[-1].type == "complete"
        assert events[-1].data["valuation"]["priceFairnessScore"] == valuation["priceFairnessScore"]
        percents = [e.data["progress"] for e in events if e.type == "progress"]
        assert percents == sorted(percents)
        assert percents[-1] == 100

        job = client.jobs.create_valuation({"url": url, "overrideProduct": PRODUCT})
        finished = client.jobs.wait(job["id"])
        assert finished["status"] == "completed"
        assert finished["results"]
        assert job["id"] in [j["id"] for j in client.jobs.list(type="valuation")]

        assert client.valuations.purge(client_id) == {"deleted": 2}
        assert client.valuations.purge(client_id) == {"deleted": 0}

        free: dict[str, Any] = {**PRODUCT, "price": 0}
        with pytest.raises(ValidationError) as invalid:
            client.value_decision(url, override_product=free)
        assert invalid.value.fields
        with (
            pytest.raises(ValidationError),
            client.valuate_stream(url, override_product={"price": -1}) as stream,
        ):
            list(stream)


def test_the_org_feed_carries_the_orgs_events(product: Product) -> None:
    with product.client() as client:
        deal = client.deals.create("Feed Co")
        with client.stream.org(last_event_id=0) as stream:
            first = next(iter(stream))
    assert first.type == "deal.created"
    assert first.data["deal_id"] == deal["id"]


def test_errors_from_the_real_product(product: Product) -> None:
    with product.client() as client:
        with pytest.raises(NotFoundError) as missing:
            client.deals.get(999_999_999)
        assert missing.value.code == "not_found"
        assert missing.value.request_id
        with pytest.raises(ValidationError) as invalid:
            client.deals.create("")
        assert "business_name" in invalid.value.fields
        with pytest.raises(NotFoundError), client.stream.deal(999_999_999) as stream:
            list(stream)
        with pytest.raises(NotFoundError), client.stream.job("job_nope") as stream:
            list(stream)
        other = client.deals.create("Ours")
    with product.client() as stranger, pytest.raises(NotFoundError):
        stranger.deals.get(other["id"])  # another organisation's deal does not exist
    with product.client(scopes="read") as reader, pytest.raises(PermissionDeniedError):
        reader.deals.create("Not allowed")
    with Dealstream("dsk_test_" + "x" * 40, product.url) as nobody, pytest.raises(AuthenticationError):
        nobody.usage()


async def test_the_async_client_against_the_product(product: Product, statement: Path) -> None:
    key = product.stack.create_key(f"Async E2E {uuid.uuid4().hex[:8]}")
    async with AsyncDealstream(key, product.url, heartbeat_interval=HEARTBEAT) as client:
        deal = await client.deals.create("Async Ltd")
        upload = await client.deals.upload_statement(deal["id"], statement)
        seen: list[Event] = []
        job = await client.jobs.wait(upload["job_id"], on_event=seen.append)
        assert job["status"] == "completed"
        assert seen[-1].type == "usage"
        assert [d["id"] async for d in client.deals.list(search="Async Ltd")] == [deal["id"]]
        async with client.valuate_stream("https://shop.example/a", override_product=PRODUCT) as stream:
            assert [e.type async for e in stream][-1] == "complete"
        assert (await client.usage())["monthly_used"] >= 1


# --- a stream across a restart of its web process ----------------------------------------------


def test_a_stream_survives_a_restart_of_its_server() -> None:
    """Web A serves the stream and is restarted on the same port; web B keeps taking requests.

    Deals created while A is down must arrive after the reconnection (replayed from the
    store), then the live ones: each exactly once, in order.
    """
    with distributed_stack(**STACK_ENV) as stack:
        port = free_port()
        a_url = stack.start_web("uvicorn", port=port)
        web_a = stack.processes[-1]
        b_url = stack.start_web("uvicorn")
        key = stack.create_key("Restart Org")
        created: list[int] = []
        streaming = threading.Event()
        failures: list[BaseException] = []

        def publish() -> None:
            try:
                with Dealstream(key, b_url) as via_b:
                    for n in range(5):
                        created.append(via_b.deals.create(f"Before {n}")["id"])
                    assert streaming.wait(30)
                    web_a.stop(signal.SIGTERM, timeout=2)
                    for n in range(10):
                        created.append(via_b.deals.create(f"During {n}")["id"])
                        time.sleep(0.05)
                    stack.start_web("uvicorn", port=port)
                    for n in range(5):
                        created.append(via_b.deals.create(f"After {n}")["id"])
                with Dealstream(key, a_url) as via_a:
                    for n in range(5):
                        created.append(via_a.deals.create(f"After A {n}")["id"])
            except BaseException as exc:
                failures.append(exc)
                raise
            finally:
                # The last event of the feed tells the reader to stop: a duplicate of anything
                # earlier would have come before it.
                with Dealstream(key, b_url) as via_b:
                    via_b.deals.create(SENTINEL)

        publisher = threading.Thread(target=publish, daemon=True)
        publisher.start()
        events: list[Event] = []
        try:
            with (
                Dealstream(key, a_url, heartbeat_interval=HEARTBEAT) as client,
                client.stream.org(last_event_id=0) as stream,
            ):
                for event in stream:
                    if event.type == "deal.created" and event.data["business_name"] == SENTINEL:
                        break
                    events.append(event)
                    if len(events) == 3:
                        streaming.set()
            publisher.join(30)
            assert not failures, failures
            assert len(created) == 25
            deal_ids = [e.data["deal_id"] for e in events if e.type == "deal.created"]
            assert deal_ids == created  # nothing missed, nothing twice, in order
            ids = [int(e.id) for e in events if e.id]
            assert ids == sorted(ids)
            assert len(ids) == len(set(ids))
            restarted = stack.processes[-1]
            assert restarted.name == web_a.name
            assert re.search(r"GET /api/v1/events HTTP", restarted.log())  # it did reconnect there
        except BaseException:
            print(stack.logs()[-20000:])
            raise


# --- the rate limit ------------------------------------------------------------------------------


class RecordingHandler(logging.Handler):
    """The client's log lines (it logs each retry with its delay)."""

    def __init__(self) -> None:
        super().__init__()
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@pytest.mark.timeout(240)
def test_a_429_is_waited_out_as_retry_after_says() -> None:
    with embedded_stack(RATE_LIMIT_PER_MINUTE="5") as stack:
        url = stack.start_web("uvicorn")
        key = stack.create_key("Limited Org")
        with Dealstream(key, url, max_retries=0) as impatient:
            while True:
                with pytest.raises(RateLimitError) as limited:  # noqa: PT012 - spends the window first
                    for _ in range(10):
                        impatient.usage()
                retry_after = limited.value.retry_after
                assert retry_after is not None
                assert 1 <= retry_after <= 60
                if retry_after >= 5:
                    break
                time.sleep(retry_after + 0.5)  # too close to the window's end: use the next one
        assert limited.value.status == 429
        assert limited.value.code == "rate_limited"
        assert limited.value.request_id

        logger = logging.getLogger("dealstream")
        records = RecordingHandler()
        logger.addHandler(records)
        level, logger.level = logger.level, logging.INFO
        try:
            started = time.monotonic()
            with Dealstream(key, url) as patient:
                usage = patient.usage()
            waited = time.monotonic() - started
        finally:
            logger.removeHandler(records)
            logger.setLevel(level)
        assert usage["monthly_limit"] > 0
        retries = [message for message in records.messages if "after HTTP 429" in message]
        assert retries, "the client should have waited for the window to reset"
        assert waited >= retry_after - 2
