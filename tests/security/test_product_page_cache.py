"""The product-page cache is per organisation: one tenant's valuations never tell another
which pages were read recently (no "from the cache", no skipped fetch)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.e2e.stack import Stack, embedded_stack
from tests.security.live import Shop, make_team, sse_events, stream_get

pytestmark = pytest.mark.e2e

FROM_THE_PAGE = "Read the product from the page"
FROM_THE_CACHE = "Read the product from the cache"


@pytest.fixture(scope="module")
def shop() -> Iterator[Shop]:
    shop = Shop()
    yield shop
    shop.close()


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    with embedded_stack(VALUATION_ALLOW_PRIVATE_URLS="1", RATE_LIMIT_PER_MINUTE="10000") as stack:
        yield stack


@pytest.fixture(scope="module")
def base_url(stack: Stack) -> str:
    return stack.start_web("uvicorn")


def product_source(base_url: str, key: str, url: str) -> str:
    """What the stream says about where the product came from."""
    with httpx.Client(base_url=base_url, timeout=20) as client:
        response = stream_get(client, {"url": url}, key=key)
    assert response.status_code == 200, response.text[:500]
    events = sse_events(response.text)
    assert events[-1][0] == "result", events
    return next(data["message"] for name, data in events if name == "log" and data["stage"] == "product")


def test_it_never_reveals_another_tenants_cached_page(stack: Stack, base_url: str, shop: Shop) -> None:
    first = make_team(stack, "First Tenant")
    second = make_team(stack, "Second Tenant")
    url = f"{shop.url}/products/secret-launch"

    assert product_source(base_url, first.key, url) == FROM_THE_PAGE
    assert shop.hits["/products/secret-launch"] == 1
    # The same organisation may reuse what it read itself.
    assert product_source(base_url, first.key, url) == FROM_THE_CACHE
    assert shop.hits["/products/secret-launch"] == 1
    # Another organisation gets no hint, in the stream or in timing: the page is read again.
    assert product_source(base_url, second.key, url) == FROM_THE_PAGE
    assert shop.hits["/products/secret-launch"] == 2
