"""A real browser's `EventSource` on `stream-get`, driven by Playwright in headless Chromium."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import playwright.sync_api as playwright_sync
import pytest

from tests.e2e.stack import Stack, embedded_stack

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

# The integration guide's browser snippet, as a page would run it: btoa() with the padding
# stripped and concatenated into the URL unescaped, then listeners until result/failure.
COLLECT_EVENTS = """
([payload, apiKey]) => new Promise((resolve) => {
  const b64 = btoa(JSON.stringify(payload)).replace(/=+$/, "");
  const url = "/api/v1/value-decision/stream-get?payload=" + b64 + "&api_key=" + encodeURIComponent(apiKey);
  const seen = [];
  const es = new EventSource(url);
  const finish = (outcome) => { es.close(); resolve({outcome, seen, readyState: es.readyState}); };
  for (const name of ["heartbeat", "log", "result", "failure"]) {
    es.addEventListener(name, (e) => {
      seen.push({event: name, data: JSON.parse(e.data), lastEventId: e.lastEventId});
      if (name === "result" || name === "failure") finish(name);
    });
  }
  es.onerror = () => resolve({outcome: "error", seen, readyState: es.readyState});
  setTimeout(() => finish("timeout"), 15000);
})
"""

OVERRIDE_REQUEST: dict[str, Any] = {
    "url": "https://retailer.com/product/123",
    # Characters that make btoa() emit "+" and "/", which then travel unescaped.
    "overrideProduct": {"brand": "Example", "name": "Denim ??>> jacket", "price": 129, "currency": "USD"},
    "client": {"id": "phia-demo", "surface": "mobile_web", "version": "1.0.0"},
}


class AboutPage(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b"<html><head><title>About us</title></head><body>No products here.</body></html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def about_page() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), AboutPage)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/about"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    with embedded_stack(VALUATION_ALLOW_PRIVATE_URLS="1", RATE_LIMIT_PER_MINUTE="10000") as stack:
        yield stack


@pytest.fixture(scope="module")
def base_url(stack: Stack) -> str:
    return stack.start_web("uvicorn")


@pytest.fixture(scope="module")
def key(stack: Stack) -> str:
    return stack.create_key(org="Browser Org")


@pytest.fixture(scope="module")
def page(base_url: str) -> Iterator[Any]:
    with playwright_sync.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        try:
            tab = browser.new_page()
            # EventSource needs a same-origin document (the API sends no CORS headers).
            tab.goto(base_url + "/healthz")
            yield tab
        finally:
            browser.close()


def collect(page: Any, payload: Any, key: str) -> dict[str, Any]:
    outcome: dict[str, Any] = page.evaluate(COLLECT_EVENTS, [payload, key])
    return outcome


def test_eventsource_receives_heartbeat_logs_and_result(page: Any, key: str) -> None:
    # JSON.stringify writes what compact json.dumps writes, so this is the browser's btoa().
    browser_b64 = base64.b64encode(json.dumps(OVERRIDE_REQUEST, separators=(",", ":")).encode()).decode()
    assert "+" in browser_b64  # arrives as a space unless the server undoes it
    outcome = collect(page, OVERRIDE_REQUEST, key)
    assert outcome["outcome"] == "result", json.dumps(outcome)
    names = [event["event"] for event in outcome["seen"]]
    assert names == ["heartbeat", "log", "log", "log", "log", "result"]
    assert all(event["data"]["type"] == event["event"] for event in outcome["seen"])
    # Valuation streams carry no ids: nothing to resume.
    assert all(event["lastEventId"] == "" for event in outcome["seen"])
    result = outcome["seen"][-1]["data"]
    assert 0 <= result["priceFairnessScore"] <= 100
    assert result["fairPriceRange"]["currency"] == "USD"


def test_eventsource_receives_failure_for_a_page_without_a_product(
    page: Any, key: str, about_page: str
) -> None:
    outcome = collect(page, {"url": about_page}, key)
    assert outcome["outcome"] == "failure", json.dumps(outcome)
    names = [event["event"] for event in outcome["seen"]]
    assert names == ["heartbeat", "log", "failure"]
    assert "did not describe a product" in outcome["seen"][-1]["data"]["message"]


def test_eventsource_gives_up_on_a_json_error(page: Any, key: str) -> None:
    outcome = collect(page, {"url": "https://x.example", "overrideProduct": {"price": 0}}, key)
    # A 400 JSON answer is not a stream: the browser fails the connection and does not retry.
    assert outcome["outcome"] == "error"
    assert outcome["seen"] == []
    assert outcome["readyState"] == 2  # CLOSED
