"""Both valuation streams, read with httpx-sse from a real uvicorn process (embedded mode)."""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from httpx_sse import ServerSentEvent, connect_sse

from tests.e2e.stack import Stack, stack_in_mode

pytestmark = pytest.mark.e2e

GET_PATH = "/api/v1/value-decision/stream-get"
POST_PATH = "/api/v1/value-decision/stream"
SLOW_SECONDS = 1.5
VERY_SLOW_SECONDS = 4.0  # under the 5 s fetch deadline
HEARTBEAT_SECONDS = 0.3
MAX_STREAMS = 2

OVERRIDE_REQUEST: dict[str, Any] = {
    "url": "https://retailer.example/product/123",
    "overrideProduct": {
        "brand": "Example Brand",
        "name": "Wool Coat",
        "category": "coat",
        "price": 249,
        "currency": "USD",
        "materials": [{"name": "wool", "percentage": 80}, {"name": "polyamide", "percentage": 20}],
    },
    "client": {"id": "phia-demo", "surface": "mobile_web", "version": "1.0.0"},
}

SWEATER_PAGE = (
    "<html><head><script type='application/ld+json'>"
    + json.dumps(
        {
            "@context": "https://schema.org",
            "@type": "Product",
            "name": "Merino Sweater",
            "brand": "Patagonia",
            "category": "sweater",
            "offers": {"price": "129", "priceCurrency": "USD"},
        }
    )
    + "</script></head><body></body></html>"
)


class ShopHandler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path.startswith("/slow"):
            time.sleep(SLOW_SECONDS)
        elif self.path.startswith("/very-slow"):
            time.sleep(VERY_SLOW_SECONDS)
        body = (
            b"<html><head><title>About</title></head></html>"
            if self.path == "/about"
            else SWEATER_PAGE.encode()
        )
        try:
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the fetcher gave up (deadline, or its client left): expected in these tests

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def shop() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), ShopHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module", params=["embedded", "distributed"])
def stack(request: pytest.FixtureRequest) -> Iterator[Stack]:
    """Both run modes: stream slots live in the process (embedded) or in Redis (distributed)."""
    env = {
        "VALUATION_ALLOW_PRIVATE_URLS": "1",
        "SSE_HEARTBEAT_SECONDS": str(HEARTBEAT_SECONDS),
        "SSE_MAX_STREAMS_PER_KEY": str(MAX_STREAMS),
        "RATE_LIMIT_PER_MINUTE": "10000",
    }
    with stack_in_mode(request.param, **env) as stack:
        yield stack


@pytest.fixture(scope="module")
def base_url(stack: Stack) -> str:
    return stack.start_web("uvicorn")


@pytest.fixture(scope="module")
def key(stack: Stack) -> str:
    return stack.create_key(org="Streams Org")


@pytest.fixture(scope="module")
def http(base_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base_url, timeout=20) as client:
        yield client


def encode(payload: dict[str, Any], *, padding: bool = False) -> str:
    text = base64.urlsafe_b64encode(json.dumps(payload).encode()).decode()
    return text if padding else text.rstrip("=")


def parse(stream: Iterator[ServerSentEvent]) -> list[tuple[str, dict[str, Any]]]:
    """The named events; the opening `retry: 3000` block carries no data and is checked, not kept."""
    events = []
    for sse in stream:
        if not sse.data:
            assert sse.retry == 3000
            continue
        events.append((sse.event, json.loads(sse.data)))
    return events


def read_get(
    http: httpx.Client, key: str, payload: str, **headers: str
) -> tuple[httpx.Response, list[tuple[str, dict[str, Any]]]]:
    """Every event of one stream-get, read until the server closes it."""
    params = {"payload": payload, "api_key": key}
    with connect_sse(http, "GET", GET_PATH, params=params, headers=headers) as source:
        source.response.raise_for_status()
        events = parse(source.iter_sse())
    return source.response, events


def read_post(
    http: httpx.Client, key: str, body: Any, **extra_headers: str
) -> tuple[httpx.Response, list[tuple[str, dict[str, Any]]]]:
    headers = {"Authorization": f"Bearer {key}", "Accept": "text/event-stream", **extra_headers}
    with connect_sse(http, "POST", POST_PATH, json=body, headers=headers) as source:
        source.response.raise_for_status()
        events = parse(source.iter_sse())
    return source.response, events


def without_heartbeats(events: list[tuple[str, dict[str, Any]]]) -> list[tuple[str, dict[str, Any]]]:
    return [(name, data) for name, data in events if name != "heartbeat"]


RESPONSE_FIELDS = {
    "productId",
    "priceFairnessScore",
    "resalePotentialScore",
    "circularity",
    "explanations",
    "fairPriceRange",
    "generatedAt",
    "version",
}

# --- GET …/stream-get ------------------------------------------------------------------------


def test_stream_get_sends_heartbeat_logs_then_result_and_closes(http: httpx.Client, key: str) -> None:
    started = time.monotonic()
    response, events = read_get(http, key, encode(OVERRIDE_REQUEST), **{"X-Request-ID": "req-stream-get-1"})
    assert time.monotonic() - started < 5  # it closed by itself
    assert response.headers["content-type"].startswith("text/event-stream")
    names = [name for name, _ in events]
    assert names == ["heartbeat", "log", "log", "log", "log", "result"]
    assert all(data["type"] == name for name, data in events)
    logs = [data for name, data in events if name == "log"]
    assert all(data["request_id"] == "req-stream-get-1" for data in logs)
    assert [data["stage"] for data in logs] == ["product", "price", "resale", "circularity"]
    assert all(data["message"] for data in logs)
    result = events[-1][1]
    assert set(result) == RESPONSE_FIELDS | {"type"}
    assert result["version"] == response.headers["X-Scorer-Version"]


def test_stream_get_wire_format_has_retry_and_no_ids(http: httpx.Client, key: str) -> None:
    params = {"payload": encode(OVERRIDE_REQUEST), "api_key": key}
    with http.stream("GET", GET_PATH, params=params) as response:
        raw = b"".join(response.iter_raw()).decode()
    assert raw.startswith("retry: 3000\n\n")
    assert "event: heartbeat\n" in raw.split("\n\n", 2)[1]
    lines = raw.splitlines()
    assert not [line for line in lines if line.startswith("id:")]
    assert response.headers["cache-control"] == "no-cache"
    assert response.headers["x-accel-buffering"] == "no"
    assert "x-app-env" in response.headers


@pytest.mark.parametrize("padding", [True, False])
def test_stream_get_accepts_payloads_with_or_without_padding(
    http: httpx.Client, key: str, padding: bool
) -> None:
    payload = dict(
        OVERRIDE_REQUEST, url="https://retailer.example/p/padding-x"
    )  # a length that needs padding
    _, events = read_get(http, key, encode(payload, padding=padding))
    assert events[-1][0] == "result"


def test_stream_get_accepts_btoa_output(http: httpx.Client, key: str) -> None:
    payload = {**OVERRIDE_REQUEST, "overrideProduct": {"name": "Jeans ???>>>", "price": 99}}
    standard = base64.b64encode(json.dumps(payload).encode()).decode().rstrip("=")
    assert "+" in standard or "/" in standard
    _, events = read_get(http, key, standard)
    assert events[-1][0] == "result"


def test_stream_get_reads_a_slow_page_with_heartbeats_while_waiting(
    http: httpx.Client, key: str, shop: str
) -> None:
    _, events = read_get(http, key, encode({"url": f"{shop}/slow/sweater", "client": {"id": "x"}}))
    names = [name for name, _ in events]
    assert names[:2] == ["heartbeat", "log"]
    assert events[1][1]["stage"] == "fetching"
    product_log = next(
        i for i, (name, data) in enumerate(events) if name == "log" and data["stage"] == "product"
    )
    waiting = names[2:product_log]
    assert len(waiting) >= 2
    assert set(waiting) == {"heartbeat"}
    assert names[product_log:] == ["log", "log", "log", "log", "result"]
    assert all("type" in data for _, data in events)


def test_stream_get_ends_with_failure_when_the_page_has_no_product(
    http: httpx.Client, key: str, shop: str
) -> None:
    _, events = read_get(http, key, encode({"url": f"{shop}/about"}))
    assert [name for name, _ in events] == ["heartbeat", "log", "failure"]
    failure = events[-1][1]
    assert failure["type"] == "failure"
    assert "did not describe a product" in failure["message"]


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        ("", "invalid_payload"),
        ("!!!not-base64!!!", "invalid_payload"),
        (base64.urlsafe_b64encode(b"not json").decode(), "invalid_payload"),
        (encode({"url": "https://x.example", "overrideProduct": {"price": 0}}), "invalid_request"),
    ],
)
def test_stream_get_refuses_a_bad_payload_with_json_400(
    http: httpx.Client, key: str, payload: str, code: str
) -> None:
    response = http.get(GET_PATH, params={"payload": payload, "api_key": key})
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/json")
    assert response.json()["error"]["code"] == code
    assert response.json()["error"]["fields"]


def test_stream_get_guardrail_errors_name_the_field(http: httpx.Client, key: str) -> None:
    payload = encode(
        {
            "url": "https://x.example",
            "overrideProduct": {"price": 10, "materials": [{"name": "wool", "percentage": 120}]},
        }
    )
    response = http.get(GET_PATH, params={"payload": payload, "api_key": key})
    assert response.json()["error"]["fields"]["overrideProduct.materials[0].percentage"] == [
        "Percentage must be between 0 and 100."
    ]


def test_stream_get_without_a_key_is_401(http: httpx.Client) -> None:
    response = http.get(GET_PATH, params={"payload": encode(OVERRIDE_REQUEST)})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthenticated"


def test_stream_get_with_a_read_only_key_is_403(http: httpx.Client, stack: Stack) -> None:
    reader = stack.create_key(org="Streams Org", scopes="read")
    response = http.get(GET_PATH, params={"payload": encode(OVERRIDE_REQUEST), "api_key": reader})
    assert response.status_code == 403


def test_streamed_valuations_are_stored(http: httpx.Client, key: str) -> None:
    payload = dict(OVERRIDE_REQUEST, client={"id": "stored-check"})
    _, events = read_get(http, key, encode(payload))
    listing = http.get(
        "/api/v1/valuations", params={"client_id": "stored-check"}, headers={"Authorization": f"Bearer {key}"}
    ).json()
    assert [row["result"] for row in listing["results"]] == [
        {k: v for k, v in events[-1][1].items() if k != "type"}
    ]


# --- POST …/stream ---------------------------------------------------------------------------


def test_stream_post_sends_start_progress_partials_and_complete(http: httpx.Client, key: str) -> None:
    response, events = read_post(http, key, OVERRIDE_REQUEST)
    names = [name for name, _ in events]
    assert names == [
        "start",
        "progress",
        "progress",
        "partial",
        "progress",
        "partial",
        "progress",
        "partial",
        "progress",
        "complete",
    ]
    assert all(data["type"] == name for name, data in events)
    progress = [data["progress"] for name, data in events if name == "progress"]
    assert progress == sorted(progress)
    assert progress[-1] == 100
    assert all(0 <= p <= 100 for p in progress)
    partials = [data for name, data in events if name == "partial"]
    assert "resalePotentialScore" not in partials[0]
    assert "priceFairnessScore" in partials[0]
    assert "circularity" not in partials[1]
    assert "resalePotentialScore" in partials[1]
    assert "circularity" in partials[2]
    complete = events[-1][1]
    valuation = complete["valuation"]
    assert set(valuation) == RESPONSE_FIELDS
    assert valuation["version"] == response.headers["X-Scorer-Version"]
    assert complete["price_min"] == valuation["fairPriceRange"]["min"]
    assert complete["price_max"] == valuation["fairPriceRange"]["max"]
    assert complete["valuation_id"].startswith("val_")
    assert partials[2]["priceFairnessScore"] == valuation["priceFairnessScore"]


def test_stream_post_sends_heartbeats_while_the_page_is_fetched(
    http: httpx.Client, key: str, shop: str
) -> None:
    _, events = read_post(http, key, {"url": f"{shop}/slow/post-sweater"})
    names = [name for name, _ in events]
    assert names[0] == "start"
    assert events[1] == ("progress", events[1][1])
    assert events[1][1]["stage"] == "fetching"
    assert names.count("heartbeat") >= 2
    assert all(data["type"] == name for name, data in events)
    assert names[-1] == "complete"
    assert [n for n, _ in without_heartbeats(events)][-2:] == ["progress", "complete"]


def test_stream_post_ends_with_error_when_the_page_has_no_product(
    http: httpx.Client, key: str, shop: str
) -> None:
    _, events = read_post(http, key, {"url": f"{shop}/about"})
    assert [name for name, _ in events] == ["start", "progress", "error"]
    assert events[-1][1]["code"] == "product_not_found"
    assert events[-1][1]["message"]


def test_stream_post_refuses_bad_input_with_json_400(http: httpx.Client, key: str) -> None:
    headers = {"Authorization": f"Bearer {key}", "Accept": "text/event-stream"}
    bad = {"url": "https://x.example", "overrideProduct": {"price": -1}}
    response = http.post(POST_PATH, json=bad, headers=headers)
    assert response.status_code == 400
    assert response.json()["error"]["fields"]["overrideProduct.price"] == ["Price must be greater than 0."]
    not_json = http.post(POST_PATH, content=b"{oops", headers={**headers, "Content-Type": "application/json"})
    assert not_json.status_code == 400
    form = http.post(POST_PATH, data={"url": "https://x.example"}, headers=headers)
    assert form.status_code == 415


def test_stream_post_without_a_key_is_401(http: httpx.Client) -> None:
    response = http.post(POST_PATH, json=OVERRIDE_REQUEST, headers={"Accept": "text/event-stream"})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthenticated"


def stored_for(http: httpx.Client, key: str, client_id: str) -> list[dict[str, Any]]:
    response = http.get(
        "/api/v1/valuations", params={"client_id": client_id}, headers={"Authorization": f"Bearer {key}"}
    )
    results: list[dict[str, Any]] = response.json()["results"]
    return results


def test_stream_post_with_an_idempotency_key_replays_instead_of_valuing_twice(
    http: httpx.Client, key: str
) -> None:
    body = dict(OVERRIDE_REQUEST, client={"id": "idempotent-stream"})
    first_response, first = read_post(http, key, body, **{"Idempotency-Key": "stream-once"})
    assert "Idempotent-Replayed" not in first_response.headers
    again_response, again = read_post(http, key, body, **{"Idempotency-Key": "stream-once"})
    assert again_response.headers["Idempotent-Replayed"] == "true"
    assert [name for name, _ in again] == ["start", "complete"]
    assert again[0][1]["replayed"] is True
    assert again[1][1]["valuation_id"] == first[-1][1]["valuation_id"]
    assert again[1][1]["valuation"] == first[-1][1]["valuation"]
    assert len(stored_for(http, key, "idempotent-stream")) == 1

    different = http.post(
        POST_PATH,
        json=dict(body, url="https://retailer.example/other"),
        headers={"Authorization": f"Bearer {key}", "Idempotency-Key": "stream-once"},
    )
    assert different.status_code == 409
    assert different.json()["error"]["code"] == "idempotency_key_reused"


def test_stream_post_replays_a_refusal_too(http: httpx.Client, key: str, shop: str) -> None:
    body = {"url": f"{shop}/about"}
    _, first = read_post(http, key, body, **{"Idempotency-Key": "stream-refused"})
    _, again = read_post(http, key, body, **{"Idempotency-Key": "stream-refused"})
    assert first[-1][0] == again[-1][0] == "error"
    assert again[-1][1]["code"] == first[-1][1]["code"] == "product_not_found"


def test_a_stream_the_client_left_gives_its_idempotency_key_back(
    base_url: str, http: httpx.Client, key: str, shop: str
) -> None:
    body = {"url": f"{shop}/slow/left", "client": {"id": "left-stream"}}
    headers = {"Authorization": f"Bearer {key}", "Idempotency-Key": "stream-left"}
    with (
        httpx.Client(base_url=base_url, timeout=20) as leaving,
        connect_sse(leaving, "POST", POST_PATH, json=body, headers=headers) as source,
    ):
        assert next(e for e in source.iter_sse() if e.data).event == "start"
    # The server notices the departure at its next write (a heartbeat); until then the key
    # is still held and a retry is told so.
    deadline = time.monotonic() + 10
    while True:
        retry = http.post(POST_PATH, json=body, headers={**headers, "Accept": "text/event-stream"})
        if retry.status_code != 409:
            break
        assert retry.json()["error"]["code"] == "idempotency_in_progress"
        assert time.monotonic() < deadline, "the key was never given back"
        time.sleep(0.2)
    assert retry.status_code == 200
    assert "Idempotent-Replayed" not in retry.headers
    assert "event: complete" in retry.text


def test_stream_post_is_post_only(http: httpx.Client, key: str) -> None:
    response = http.get(POST_PATH, headers={"Authorization": f"Bearer {key}"})
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"


# --- stream slots -------------------------------------------------------------------------------


def accepted_within(base_url: str, key: str, seconds: float) -> int:
    """The status of a fresh stream-get, retried while it is 429, for up to `seconds`."""
    deadline = time.monotonic() + seconds
    while True:
        params = {"payload": encode(OVERRIDE_REQUEST), "api_key": key}
        status = httpx.get(base_url + GET_PATH, params=params, timeout=10).status_code
        if status != 429 or time.monotonic() > deadline:
            return status
        time.sleep(0.1)


def test_streams_hold_a_slot_while_open_and_free_it_at_the_end(
    http: httpx.Client, stack: Stack, shop: str
) -> None:
    own_key = stack.create_key(org="Slots Org")
    slow = encode({"url": f"{shop}/slow/slots"})
    opened = threading.Barrier(MAX_STREAMS + 1, timeout=10)

    def hold_a_stream() -> str:
        params = {"payload": slow, "api_key": own_key}
        with connect_sse(http, "GET", GET_PATH, params=params) as source:
            events = source.iter_sse()
            next(event for event in events if event.event == "heartbeat")  # open: the slot is taken
            opened.wait()
            return [event.event for event in events][-1]

    with ThreadPoolExecutor(MAX_STREAMS) as pool:
        holders = [pool.submit(hold_a_stream) for _ in range(MAX_STREAMS)]
        opened.wait()  # every slot of the key is held by a stream waiting on the slow page
        refused = http.get(GET_PATH, params={"payload": slow, "api_key": own_key})
        assert refused.status_code == 429
        assert refused.headers["content-type"].startswith("application/json")
        assert refused.json()["error"]["code"] == "too_many_streams"
        assert [holder.result() for holder in holders] == ["result", "result"]
    # Finished streams gave their slots back: more than the limit now run one after another.
    for _ in range(MAX_STREAMS + 1):
        assert read_get(http, own_key, encode(OVERRIDE_REQUEST))[1][-1][0] == "result"


def test_a_client_that_leaves_frees_its_slot(base_url: str, stack: Stack, shop: str) -> None:
    own_key = stack.create_key(org="Leavers Org")
    slow = encode({"url": f"{shop}/very-slow/leaver"})
    for _ in range(MAX_STREAMS):
        # Each client reads the first bytes, then hangs up in the middle of the page fetch.
        with (
            httpx.Client(base_url=base_url, timeout=10) as client,
            client.stream("GET", GET_PATH, params={"payload": slow, "api_key": own_key}) as response,
        ):
            assert response.status_code == 200
            next(response.iter_raw())
    # Both slots come back long before the fetches end (4 s) or a Redis lease (30 s) expires.
    assert accepted_within(base_url, own_key, seconds=2.0) == 200
