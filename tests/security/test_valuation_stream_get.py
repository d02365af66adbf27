"""`GET …/value-decision/stream-get` stores a valuation, so a session cookie alone (which a
cross-site page can make a browser send) is not enough: it needs an API key."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.e2e.stack import Stack, embedded_stack
from tests.security.live import Team, logged_in, make_team, sse_events, stream_get

pytestmark = pytest.mark.e2e

REQUEST = {
    "url": "https://retailer.example/product/123",
    "overrideProduct": {
        "brand": "Example Brand",
        "name": "Wool Coat",
        "category": "coat",
        "price": 249,
        "currency": "USD",
        "materials": [{"name": "wool", "percentage": 100}],
    },
}

_COUNT = (
    "from valuations.models import Valuation; print(Valuation.objects.filter(organization_id=%d).count())"
)


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    with embedded_stack(RATE_LIMIT_PER_MINUTE="10000") as stack:
        yield stack


@pytest.fixture(scope="module")
def base_url(stack: Stack) -> str:
    return stack.start_web("uvicorn")


@pytest.fixture(scope="module")
def team(stack: Stack) -> Team:
    return make_team(stack, "Stream Get Org", "hana")


def stored(stack: Stack, team: Team) -> int:
    return int(stack.manage("shell", "-c", _COUNT % team.org_id).strip().splitlines()[-1])


def test_it_refuses_a_session_only_get_and_stores_nothing(stack: Stack, base_url: str, team: Team) -> None:
    before = stored(stack, team)
    response = stream_get(logged_in(base_url, "hana"), REQUEST)
    assert response.status_code == 401, response.text[:500]
    assert response.headers["content-type"].startswith("application/json")
    assert response.json()["error"]["code"] == "api_key_required"
    assert stored(stack, team) == before


def test_it_still_values_with_an_api_key(stack: Stack, base_url: str, team: Team) -> None:
    before = stored(stack, team)
    with httpx.Client(base_url=base_url, timeout=20) as client:
        response = stream_get(client, REQUEST, key=team.key)
    assert response.status_code == 200
    assert [name for name, _ in sse_events(response.text)][-1] == "result"
    assert stored(stack, team) == before + 1
