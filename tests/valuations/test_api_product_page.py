"""Valuing a product read from its page, served by a real local HTTP server."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from rest_framework.test import APIClient

from valuations import services
from valuations.models import Valuation

URL = "/api/v1/value-decision"

PRODUCT_JSON_LD = {
    "@context": "https://schema.org",
    "@type": "Product",
    "name": "Merino Wool Crew Sweater",
    "brand": {"@type": "Brand", "name": "Patagonia"},
    "category": "Sweaters",
    "material": "100% merino wool",
    "offers": {"@type": "Offer", "price": "129.00", "priceCurrency": "USD"},
}

PAGES: dict[str, tuple[int, str, str]] = {
    "/sweater": (
        200,
        "text/html; charset=utf-8",
        f"<html><head><title>Sweater</title><script type='application/ld+json'>{json.dumps(PRODUCT_JSON_LD)}"
        "</script></head><body>Sweater</body></html>",
    ),
    "/og-bag": (
        200,
        "text/html",
        "<html><head>"
        '<meta property="og:type" content="product">'
        '<meta property="og:title" content="Leather Tote Bag">'
        '<meta property="product:price:amount" content="180">'
        '<meta property="product:price:currency" content="EUR">'
        "</head><body></body></html>",
    ),
    "/about": (
        200,
        "text/html",
        "<html><head><title>About us</title></head><body>We sell things.</body></html>",
    ),
    "/gone": (404, "text/html", "<html><body>Not found</body></html>"),
    "/data.json": (200, "application/json", "{}"),
}


class ShopHandler(BaseHTTPRequestHandler):
    hits: Counter[str] = Counter()

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        type(self).hits[path] += 1
        if path == "/slow":
            time.sleep(1.5)
            path = "/sweater"
        status, content_type, body = PAGES.get(path, (404, "text/html", "missing"))
        payload = body.encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the fetcher gave up (deadline, or its client left): expected in these tests

    def log_message(self, format: str, *args: Any) -> None:
        pass  # keep test output quiet


@pytest.fixture
def shop() -> Iterator[str]:
    """A shop on 127.0.0.1 (a private address, so tests allow private URLs where they need it)."""
    ShopHandler.hits = Counter()
    server = ThreadingHTTPServer(("127.0.0.1", 0), ShopHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def allow_private(settings: Any) -> None:
    settings.VALUATION_ALLOW_PRIVATE_URLS = True


def post(api: APIClient, url: str) -> Any:
    return api.post(URL, {"url": url, "client": {"id": "ext"}}, format="json")


@pytest.mark.usefixtures("allow_private")
def test_it_values_the_product_read_from_json_ld(api: APIClient, shop: str) -> None:
    response = post(api, f"{shop}/sweater")
    assert response.status_code == 200, response.content
    data = response.json()
    assert data["fairPriceRange"]["currency"] == "USD"
    assert "brand_takeback_program" in data["circularity"]["tokens"]
    assert "mono_material" in data["circularity"]["tokens"]
    assert data["version"] == response["X-Scorer-Version"]
    stored = Valuation.objects.get()
    assert stored.source == "page"
    assert stored.url == f"{shop}/sweater"


@pytest.mark.usefixtures("allow_private")
def test_it_reads_opengraph_tags(api: APIClient, shop: str) -> None:
    response = post(api, f"{shop}/og-bag")
    assert response.status_code == 200, response.content
    assert response.json()["fairPriceRange"]["currency"] == "EUR"


@pytest.mark.usefixtures("allow_private")
def test_the_product_is_cached_per_url(api: APIClient, shop: str) -> None:
    first = post(api, f"{shop}/sweater")
    # Tracking parameters do not make it another product.
    second = post(api, f"{shop}/sweater?utm_source=newsletter")
    assert first.status_code == second.status_code == 200
    assert ShopHandler.hits["/sweater"] == 1
    assert second.json()["productId"] == first.json()["productId"]
    assert Valuation.objects.count() == 2


@pytest.mark.usefixtures("allow_private")
def test_a_page_without_a_product_is_400_product_not_found(api: APIClient, shop: str) -> None:
    response = post(api, f"{shop}/about")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "product_not_found"
    assert "did not describe a product" in error["message"]
    assert "overrideProduct" in error["message"]
    assert error["fields"]["url"]
    assert not Valuation.objects.exists()


@pytest.mark.usefixtures("allow_private")
@pytest.mark.parametrize(
    ("path", "message"), [("/gone", "HTTP status 404"), ("/data.json", "did not return a web page")]
)
def test_a_page_that_cannot_be_used_is_422(api: APIClient, shop: str, path: str, message: str) -> None:
    response = post(api, f"{shop}{path}")
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "page_unavailable"
    assert message in error["message"]


@pytest.mark.usefixtures("allow_private")
def test_a_slow_page_times_out_with_422(api: APIClient, shop: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(services, "PAGE_FETCH_TIMEOUT_SECONDS", 0.5)
    started = time.monotonic()
    response = post(api, f"{shop}/slow")
    assert time.monotonic() - started < 1.4
    assert response.status_code == 422
    assert "too long" in response.json()["error"]["message"]


def test_an_unreachable_port_is_422(api: APIClient, settings: Any) -> None:
    settings.VALUATION_ALLOW_PRIVATE_URLS = True
    response = post(api, "http://127.0.0.1:9/product")
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "page_unavailable"


def test_private_addresses_are_refused_unless_allowed(api: APIClient, shop: str, settings: Any) -> None:
    settings.VALUATION_ALLOW_PRIVATE_URLS = False
    response = post(api, f"{shop}/sweater")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "url_not_allowed"
    assert "private address" in error["message"]
    assert error["fields"]["url"] == ["The URL points to a private address."]
    assert ShopHandler.hits["/sweater"] == 0  # refused before connecting


def test_localhost_is_refused_by_name(api: APIClient, settings: Any) -> None:
    settings.VALUATION_ALLOW_PRIVATE_URLS = False
    response = post(api, "http://localhost:8000/admin")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "url_not_allowed"


@pytest.mark.usefixtures("allow_private")
def test_an_override_never_fetches_the_page(api: APIClient, shop: str) -> None:
    data = {"url": f"{shop}/sweater", "overrideProduct": {"price": 50, "category": "sweater"}}
    assert api.post(URL, data, format="json").status_code == 200
    assert ShopHandler.hits["/sweater"] == 0
