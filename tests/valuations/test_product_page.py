"""Reading a product from a page: pure HTML parsing, and fetching from local servers only.

Every request in this file goes to a ThreadingHTTPServer on a loopback address;
the private-address guard is tested with connecting forbidden outright.
"""

from __future__ import annotations

import gzip
import ipaddress
import json
import re
import socket
import threading
import time
from collections.abc import Iterator
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from outbound import http
from outbound.http import OutboundError, check_url, is_public_address
from valuations.page_fetch import ProductReadError, fetch_page
from valuations.product_page import fetch_product, parse_materials, parse_price, read_product
from valuations.scoring.engine import Material


def exactly(message: str) -> str:
    """A `pytest.raises(match=...)` pattern for exactly this message."""
    return "^" + re.escape(message) + "$"


# --------------------------------------------------------------------------
# Pages
# --------------------------------------------------------------------------

JSON_LD_PAGE = """<!doctype html>
<html><head><title>Wool Coat | Example Shop</title>
<script type="application/ld+json">
{"@context": "https://schema.org", "@graph": [
  {"@type": "WebPage", "@id": "https://shop.example/coat#page", "name": "Wool Coat page"},
  {"@type": "Brand", "@id": "#brand", "name": "Example Brand"},
  {"@type": "Product", "name": "Wool Coat", "brand": {"@id": "#brand"},
   "category": ["Women", "Outerwear", "Coats"],
   "material": "80% wool, 20% polyamide",
   "description": "A warm coat with reinforced seams.",
   "offers": [{"@type": "Offer", "price": "249.00", "priceCurrency": "USD"}]}
]}
</script></head><body><h1>Wool Coat</h1></body></html>"""

OPEN_GRAPH_PAGE = """<html><head>
<meta property="og:type" content="product">
<meta property="og:title" content="Linen Shirt">
<meta property="product:brand" content="Everlane">
<meta property="product:category" content="Shirts">
<meta property="product:price:amount" content="68.00">
<meta property="product:price:currency" content="EUR">
<meta property="og:description" content="Made from 100% linen.">
</head><body></body></html>"""

NO_PRODUCT_PAGE = """<html><head><title>About us</title>
<meta property="og:title" content="About us">
<script type="application/ld+json">{"@type": "Organization", "name": "Example Shop"}</script>
</head><body>We sell coats.</body></html>"""


class _Pages(BaseHTTPRequestHandler):
    """Routes for the local test server; `self.server.seen` records every path asked for."""

    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _send(self, body: bytes, *, status: int = 200, content_type: str = "text/html; charset=utf-8",
              headers: dict[str, str] | None = None) -> None:  # fmt: skip
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        query = parse_qs(parts.query)
        self.server.seen.append(parts.path)
        route = parts.path
        if route == "/jsonld":
            self._send(JSON_LD_PAGE.encode())
        elif route == "/og":
            self._send(OPEN_GRAPH_PAGE.encode())
        elif route == "/none":
            self._send(NO_PRODUCT_PAGE.encode())
        elif route == "/host":
            # Echoes the Host header as the product name, to show which name was asked for.
            host = self.headers.get("Host", "")
            page = (
                f'<meta property="og:title" content="{host}"><meta property="og:price:amount" content="10">'
            )
            self._send(page.encode())
        elif route == "/gzip":
            self._send(gzip.compress(JSON_LD_PAGE.encode()), headers={"Content-Encoding": "gzip"})
        elif route == "/latin1":
            page = OPEN_GRAPH_PAGE.replace("Linen Shirt", "Chemise en lin écru")
            self._send(page.encode("latin-1"), content_type="text/html; charset=iso-8859-1")
        elif route == "/big":
            self._stream_big(declare_length=False)
        elif route == "/big-declared":
            self._stream_big(declare_length=True)
        elif route == "/bad-gzip":
            self._send(b"\x1f\x8b this is not gzip", headers={"Content-Encoding": "gzip"})
        elif route == "/gzip-bomb":
            self._send(gzip.compress(b" " * 20_000_000), headers={"Content-Encoding": "gzip"})
        elif route == "/slow":
            self._drip()
        elif route == "/redirect":
            self._send(b"", status=302, headers={"Location": query["to"][0]})
        elif route == "/loop":
            self._send(b"", status=302, headers={"Location": "/loop"})
        elif route == "/json":
            self._send(b'{"price": 5}', content_type="application/json")
        else:
            self._send(b"not here", status=404)

    def _stream_big(self, *, declare_length: bool) -> None:
        # 5 MB without (or with) a Content-Length; stops when the client hangs up.
        total = 5_000_000
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        if declare_length:
            self.send_header("Content-Length", str(total))
        self.end_headers()
        chunk = b"<p>" + b"x" * 65_533
        try:
            for _ in range(total // len(chunk) + 1):
                self.wfile.write(chunk)
        except OSError:
            pass

    def _drip(self) -> None:
        # A slow-drip server: one byte every 100 ms, for up to 20 s.
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.end_headers()
        try:
            for _ in range(200):
                if self.server.stopping.is_set():
                    return
                self.wfile.write(b" ")
                self.wfile.flush()
                time.sleep(0.1)
        except OSError:
            pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, host: str) -> None:
        super().__init__((host, 0), _Pages)
        self.seen: list[str] = []
        self.stopping = threading.Event()

    def url(self, path: str) -> str:
        host, port = self.server_address[:2]
        assert isinstance(host, str)
        return f"http://{host}:{port}{path}"


def _start(host: str) -> Iterator[_Server]:
    server = _Server(host)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.stopping.set()
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def shop() -> Iterator[_Server]:
    yield from _start("127.0.0.1")


@pytest.fixture(scope="module")
def public_shop() -> Iterator[_Server]:
    """A second loopback server that a test may pretend is on the public internet."""
    try:
        server = _Server("127.0.0.2")
    except OSError:
        pytest.skip("127.0.0.2 is not bindable here")
    server.server_close()
    yield from _start("127.0.0.2")


@pytest.fixture
def no_connections(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if anything tries to open a TCP connection."""

    def refuse(*args: Any, **kwargs: Any) -> socket.socket:
        raise AssertionError(f"a connection was attempted: {args}")

    monkeypatch.setattr(socket, "create_connection", refuse)


# --------------------------------------------------------------------------
# Fetching
# --------------------------------------------------------------------------


def test_it_reads_a_json_ld_page(shop: _Server) -> None:
    product = fetch_product(shop.url("/jsonld"), allow_private=True)
    assert product.url == shop.url("/jsonld")
    assert (product.brand, product.name, product.category) == (
        "Example Brand",
        "Wool Coat",
        "Women > Outerwear > Coats",
    )
    assert (product.price, product.currency) == (Decimal("249.00"), "USD")
    assert product.materials == (Material("wool", Decimal(80)), Material("polyamide", Decimal(20)))
    assert product.description == "A warm coat with reinforced seams."


def test_it_reads_an_open_graph_only_page(shop: _Server) -> None:
    product = fetch_product(shop.url("/og"), allow_private=True)
    assert (product.name, product.brand, product.category) == ("Linen Shirt", "Everlane", "Shirts")
    assert (product.price, product.currency) == (Decimal("68.00"), "EUR")
    assert product.materials == (Material("linen", Decimal(100)),)


def test_it_reports_a_page_without_a_product(shop: _Server) -> None:
    with pytest.raises(ProductReadError, match=exactly("The page did not describe a product")):
        fetch_product(shop.url("/none"), allow_private=True)


def test_it_stops_reading_past_the_size_cap(shop: _Server) -> None:
    started = time.monotonic()
    with pytest.raises(ProductReadError, match=exactly("The page is larger than 2 MB")):
        fetch_page(shop.url("/big"), allow_private=True)
    assert time.monotonic() - started < 3


def test_it_refuses_a_declared_size_over_the_cap_before_reading(shop: _Server) -> None:
    with pytest.raises(ProductReadError, match=exactly("The page is larger than 1.5 MB")):
        fetch_page(shop.url("/big-declared"), allow_private=True, max_bytes=1_500_000)


def test_it_caps_the_decoded_size_of_a_compressed_page(shop: _Server) -> None:
    # About 20 kB on the wire, 20 MB once decoded.
    with pytest.raises(ProductReadError, match=exactly("The page is larger than 2 MB")):
        fetch_page(shop.url("/gzip-bomb"), allow_private=True)


def test_it_gives_up_on_a_slow_drip_page_by_the_deadline(shop: _Server) -> None:
    started = time.monotonic()
    with pytest.raises(ProductReadError, match=exactly("The page took too long to answer")):
        fetch_page(shop.url("/slow"), allow_private=True, timeout=1.0)
    elapsed = time.monotonic() - started
    assert 0.9 <= elapsed < 1.5


def test_it_refuses_a_redirect_to_a_private_address(
    shop: _Server, public_shop: _Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 127.0.0.2 plays a public shop whose page redirects to 127.0.0.1, a private address.
    real_check = http.is_public_address
    monkeypatch.setattr(
        http,
        "is_public_address",
        lambda address: address == ipaddress.ip_address("127.0.0.2") or real_check(address),
    )
    shop.seen.clear()
    with pytest.raises(ProductReadError, match=exactly("The URL points to a private address")):
        fetch_page(public_shop.url("/redirect?to=" + shop.url("/jsonld")), allow_private=False)
    assert public_shop.seen[-1] == "/redirect"
    assert shop.seen == []  # refused before connecting


def test_the_same_redirect_is_followed_when_private_addresses_are_allowed(
    shop: _Server, public_shop: _Server
) -> None:
    product = fetch_product(public_shop.url("/redirect?to=" + shop.url("/jsonld")), allow_private=True)
    assert product.name == "Wool Coat"


def test_it_follows_relative_redirects(shop: _Server) -> None:
    assert fetch_product(shop.url("/redirect?to=/og"), allow_private=True).name == "Linen Shirt"


def test_it_stops_after_five_redirects(shop: _Server) -> None:
    with pytest.raises(ProductReadError, match=exactly("The page redirected more than 5 times")):
        fetch_page(shop.url("/loop"), allow_private=True)


def test_it_connects_to_the_address_it_checked(shop: _Server, monkeypatch: pytest.MonkeyPatch) -> None:
    # "shop.test" exists only in this fake resolver: the connection must use the
    # resolved address while the Host header keeps the name.
    port = shop.server_address[1]
    calls: list[str] = []

    def resolve(host: str, port: int, *, timeout: float) -> list[Any]:
        calls.append(host)
        return [ipaddress.ip_address("127.0.0.1")]

    monkeypatch.setattr(http, "resolve_host", resolve)
    product = fetch_product(f"http://shop.test:{port}/host", allow_private=True)
    assert product.name == f"shop.test:{port}"
    assert calls == ["shop.test"]


def test_it_decodes_gzip_and_declared_charsets(shop: _Server) -> None:
    assert fetch_product(shop.url("/gzip"), allow_private=True).name == "Wool Coat"
    assert fetch_product(shop.url("/latin1"), allow_private=True).name == "Chemise en lin écru"


def test_it_reports_a_broken_compressed_body(shop: _Server) -> None:
    with pytest.raises(ProductReadError, match=exactly("The page's compressed content could not be read")):
        fetch_page(shop.url("/bad-gzip"), allow_private=True)


def test_it_reports_http_errors_and_non_html(shop: _Server) -> None:
    with pytest.raises(ProductReadError, match=exactly("The page answered with HTTP status 404")):
        fetch_page(shop.url("/missing"), allow_private=True)
    with pytest.raises(ProductReadError, match=exactly("The URL did not return a web page")):
        fetch_page(shop.url("/json"), allow_private=True)


def test_it_reports_an_unknown_host(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(*args: Any, **kwargs: Any) -> Any:
        raise socket.gaierror("Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", fail)
    with pytest.raises(ProductReadError, match=exactly("The page's host name could not be found")):
        fetch_page("https://shop.example/p", allow_private=False)


def test_a_slow_resolver_counts_against_the_deadline(monkeypatch: pytest.MonkeyPatch) -> None:
    release = threading.Event()

    def hang(*args: Any, **kwargs: Any) -> list[Any]:
        release.wait(5)
        raise socket.gaierror("gave up")

    monkeypatch.setattr(socket, "getaddrinfo", hang)
    started = time.monotonic()
    try:
        with pytest.raises(ProductReadError, match=exactly("The page took too long to answer")):
            fetch_page("https://shop.example/p", allow_private=False, timeout=0.5)
        assert time.monotonic() - started < 1
    finally:
        release.set()


# --------------------------------------------------------------------------
# The private-address guard (no traffic: the check happens before connecting)
# --------------------------------------------------------------------------


@pytest.mark.usefixtures("no_connections")
@pytest.mark.parametrize(
    "url",
    [
        "http://10.0.0.1/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/",
        "http://127.0.0.1/",
        "https://127.0.0.1:8443/p",
        "http://[::ffff:127.0.0.1]/",
        "http://[fd00:ec2::254]/",
        "http://192.168.1.10/",
        "http://172.16.0.1/",
        "http://100.100.100.200/",
        "http://0.0.0.0/",
        "http://224.0.0.1/",
        "http://2130706433/",  # 127.0.0.1 written as one number
        "http://localhost/",
        "http://metadata.google.internal/computeMetadata/v1/",
    ],
)
def test_the_guard_refuses_private_addresses(url: str) -> None:
    with pytest.raises(ProductReadError, match=exactly("The URL points to a private address")):
        fetch_page(url, allow_private=False)


@pytest.mark.usefixtures("no_connections")
def test_the_guard_checks_every_resolved_address(monkeypatch: pytest.MonkeyPatch) -> None:
    answers = [
        (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.215.14", 443)),
        (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.0.0.1", 443)),
    ]
    monkeypatch.setattr(socket, "getaddrinfo", lambda *args, **kwargs: answers)
    with pytest.raises(ProductReadError, match=exactly("The URL points to a private address")):
        fetch_page("https://shop.example/p", allow_private=False)


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("8.8.8.8", True),
        ("93.184.215.14", True),
        ("2606:4700:4700::1111", True),
        ("10.0.0.1", False),
        ("127.0.0.1", False),
        ("169.254.169.254", False),
        ("100.64.0.1", False),
        ("192.0.0.192", False),
        ("224.0.0.1", False),
        ("255.255.255.255", False),
        ("0.0.0.0", False),  # noqa: S104 - an address under test; nothing binds to it
        ("::1", False),
        ("::", False),
        ("fe80::1", False),
        ("fd00:ec2::254", False),
        ("ff02::1", False),
        ("::ffff:10.0.0.1", False),
        ("64:ff9b::a00:1", False),  # NAT64 form of 10.0.0.1
        ("2002:7f00:1::", False),  # 6to4 form of 127.0.0.1
    ],
)
def test_is_public_address(address: str, public: bool) -> None:
    assert is_public_address(ipaddress.ip_address(address)) is public


@pytest.mark.usefixtures("no_connections")
@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://shop.example/p", "Only http and https URLs are accepted"),
        ("file:///etc/passwd", "Only http and https URLs are accepted"),
        ("javascript:alert(1)", "Only http and https URLs are accepted"),
        ("shop.example/p", "Only http and https URLs are accepted"),
        ("http:///p", "The URL has no host name"),
        ("http://user:secret@shop.example/", "URLs with a user name or password are not accepted"),
        ("http://shop.example:99999/", "The URL is not valid"),
    ],
)
def test_it_refuses_urls_it_will_not_fetch(url: str, message: str) -> None:
    with pytest.raises(OutboundError, match=exactly(message)):
        check_url(url)
    with pytest.raises(ProductReadError, match=exactly(message)):
        fetch_page(url, allow_private=False)


# --------------------------------------------------------------------------
# read_product on HTML strings
# --------------------------------------------------------------------------


def _json_ld(data: Any, extra_head: str = "") -> str:
    return f'<html><head>{extra_head}<script type="application/ld+json">{json.dumps(data)}</script></head></html>'


def test_read_product_takes_offers_as_an_object_with_a_brand_string() -> None:
    page = _json_ld(
        {
            "@context": "https://schema.org",
            "@type": "Product",
            "name": "Classic Tee",
            "brand": "Patagonia",
            "material": ["Organic cotton"],
            "offers": {"@type": "Offer", "price": 35, "priceCurrency": "usd"},
        }
    )
    product = read_product(page, "https://shop.example/tee")
    assert (product.name, product.brand, product.price, product.currency) == (
        "Classic Tee",
        "Patagonia",
        Decimal(35),
        "USD",
    )
    assert product.materials == (Material("Organic cotton", Decimal(100)),)


def test_read_product_takes_the_low_price_of_an_aggregate_offer() -> None:
    page = _json_ld(
        [
            {"@type": "BreadcrumbList", "itemListElement": []},
            {
                "@type": "http://schema.org/Product",
                "name": "Trail Runner",
                "brand": {"@type": "Brand", "name": "Nike"},
                "category": "Running Shoes",
                "offers": {
                    "@type": "AggregateOffer",
                    "lowPrice": "89.99",
                    "highPrice": "120",
                    "priceCurrency": "GBP",
                },
            },
        ]
    )
    product = read_product(page, "https://shop.example/shoe")
    assert (product.brand, product.category, product.price, product.currency) == (
        "Nike",
        "Running Shoes",
        Decimal("89.99"),
        "GBP",
    )


def test_read_product_reads_a_price_specification_and_a_currency_sign() -> None:
    page = _json_ld(
        {
            "@type": ["Product", "Thing"],
            "name": "Silk Scarf",
            "offers": [
                {"@type": "Offer", "price": "0", "priceCurrency": "EUR"},
                {
                    "@type": "Offer",
                    "priceSpecification": {"@type": "UnitPriceSpecification", "price": "€1.299,00"},
                },
            ],
        }
    )
    product = read_product(page, "https://shop.example/scarf")
    assert (product.price, product.currency) == (Decimal("1299.00"), "EUR")


def test_read_product_fills_gaps_from_meta_tags() -> None:
    meta = '<meta property="product:price:amount" content="120"><meta property="product:price:currency" content="CAD">'
    page = _json_ld(
        {"@type": "Product", "name": "Parka", "material": "Shell: 100% nylon; Fill: 100% down"}, meta
    )
    product = read_product(page, "https://shop.example/parka")
    assert (product.name, product.price, product.currency) == ("Parka", Decimal(120), "CAD")
    assert product.materials == (Material("nylon", Decimal(100)),)


def test_read_product_skips_broken_json_ld_blocks() -> None:
    page = (
        '<script type="application/ld+json">{"@type": "Product", "name": </script>'
        '<script type="application/ld+json">\n<!--\n{"@type": "Product", "name": "Belt", '
        '"offers": {"price": 40, "priceCurrency": "USD"}}\n-->\n</script>'
    )
    assert read_product(page, "https://shop.example/belt").name == "Belt"


def test_read_product_survives_hostile_json_ld() -> None:
    looping = {
        "@id": "#x",
        "@type": "Product",
        "name": {"@id": "#x"},
        "brand": {"@id": "#x"},
        "offers": {"price": 5},
    }
    # Nested deeper than json.loads can recurse: the block is skipped, not a crash.
    deep = '{"a":' * 5000 + '{"@type": "Product", "offers": {"price": 7}}' + "}" * 5000
    page = _json_ld(looping) + f'<script type="application/ld+json">{deep}</script>'
    product = read_product(page, "https://shop.example/x")
    assert product.price == Decimal(5)


def test_read_product_reads_microdata() -> None:
    page = """<div itemscope itemtype="https://schema.org/Product">
      <h1 itemprop="name">Canvas Tote</h1>
      <span itemprop="brand">Everlane</span>
      <div itemprop="offers" itemscope itemtype="https://schema.org/Offer">
        <meta itemprop="priceCurrency" content="USD"><span itemprop="price" content="45.00">$45</span>
      </div></div>"""
    product = read_product(page, "https://shop.example/tote")
    assert (product.name, product.brand, product.price, product.currency) == (
        "Canvas Tote",
        "Everlane",
        Decimal("45.00"),
        "USD",
    )


def test_read_product_unescapes_text_and_falls_back_to_the_title() -> None:
    page = (
        "<html><head><title>Tom &amp; Jerry Tee</title>"
        '<meta property="og:price:amount" content="20"></head></html>'
    )
    product = read_product(page, "https://shop.example/t")
    assert (product.name, product.currency) == ("Tom & Jerry Tee", "USD")


def test_read_product_takes_the_composition_from_the_description() -> None:
    page = _json_ld(
        {
            "@type": "Product",
            "name": "Jeans",
            "description": "20% off this week! Fabric: 98% cotton, 2% elastane.",
            "offers": {"price": "89", "priceCurrency": "USD"},
        }
    )
    product = read_product(page, "https://shop.example/jeans")
    assert product.materials == (Material("cotton", Decimal(98)), Material("elastane", Decimal(2)))


@pytest.mark.parametrize(
    ("page", "message"),
    [
        (NO_PRODUCT_PAGE, "The page did not describe a product"),
        ("", "The page did not describe a product"),
        ("<html><body>just text</body></html>", "The page did not describe a product"),
        (_json_ld({"@type": "Product", "name": "Coat"}), "The page did not give a price for the product"),
        ('<meta property="og:type" content="product">', "The page did not give a price for the product"),
        (
            _json_ld({"@type": "Product", "offers": {"price": "-3"}}),
            "The page did not give a price for the product",
        ),
    ],
)
def test_read_product_errors(page: str, message: str) -> None:
    with pytest.raises(ProductReadError, match=exactly(message)):
        read_product(page, "https://shop.example/x")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("80% wool, 20% polyamide", [("wool", 80), ("polyamide", 20)]),
        ("Wool 80%, Polyamide 20%", [("Wool", 80), ("Polyamide", 20)]),
        ("80% Wool / 20% Nylon", [("Wool", 80), ("Nylon", 20)]),
        ("Wool 80% and Nylon 20%", [("Wool", 80), ("Nylon", 20)]),
        ("Shell: 80% wool, 20% nylon. Lining: 100% viscose", [("wool", 80), ("nylon", 20)]),
        ("52.5% cotton, 47,5% lyocell", [("cotton", Decimal("52.5")), ("lyocell", Decimal("47.5"))]),
        ("100% Organic Cotton", [("Organic Cotton", 100)]),
        ("Cotton", [("Cotton", 100)]),
        ("Cotton, Elastane", [("Cotton", 50), ("Elastane", 50)]),
        ("", []),
    ],
)
def test_parse_materials(text: str, expected: list[tuple[str, int | Decimal]]) -> None:
    assert parse_materials(text) == tuple(Material(name, Decimal(pct)) for name, pct in expected)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (249, (Decimal(249), None)),
        (19.99, (Decimal("19.99"), None)),
        ("249.00", (Decimal("249.00"), None)),
        ("$1,299.00", (Decimal("1299.00"), "USD")),
        ("1.299,00 €", (Decimal("1299.00"), "EUR")),
        ("249,95", (Decimal("249.95"), None)),
        ("£45", (Decimal(45), "GBP")),
        ("EUR 1 299", (Decimal(1299), "EUR")),
        ("free", (None, None)),
        (True, (None, None)),
        (None, (None, None)),
    ],
)
def test_parse_price(value: object, expected: tuple[Decimal | None, str | None]) -> None:
    assert parse_price(value) == expected


def test_read_product_is_fast_enough_for_a_large_page() -> None:
    filler = "<p>" + "lorem ipsum " * 50 + "</p>"
    page = JSON_LD_PAGE.replace("<h1>", filler * 2000 + "<h1>")
    started = time.monotonic()
    read_product(page, "https://shop.example/coat")
    assert time.monotonic() - started < 5
