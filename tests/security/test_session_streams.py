"""Dashboard (session) streams: capped per user, and closed once the user loses access."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from tests.e2e.stack import Stack, stack_in_mode
from tests.security.live import OpenStream, Team, answer, logged_in, make_team

pytestmark = pytest.mark.e2e

HEARTBEAT = 0.5
MAX_STREAMS = 2
FEED = "/api/v1/events"


@pytest.fixture(scope="module", params=["embedded", "distributed"])
def stack(request: pytest.FixtureRequest) -> Iterator[Stack]:
    """Both run modes: user slots live in the process (embedded) or in Redis (distributed)."""
    env = {
        "SSE_HEARTBEAT_SECONDS": str(HEARTBEAT),
        "SSE_MAX_STREAMS_PER_USER": str(MAX_STREAMS),
        "RATE_LIMIT_PER_MINUTE": "10000",
    }
    with stack_in_mode(request.param, **env) as stack:
        yield stack


@pytest.fixture(scope="module")
def base_url(stack: Stack) -> str:
    return stack.start_web("uvicorn")


@pytest.fixture(scope="module")
def team(stack: Stack) -> Team:
    return make_team(stack, "Session Streams Org", "dana", "erin", "frank", "gina")


def test_it_caps_concurrent_session_streams_per_user(base_url: str, team: Team) -> None:
    dana = logged_in(base_url, "dana")
    held = [OpenStream(dana, FEED).start() for _ in range(MAX_STREAMS)]
    assert [stream.status_code for stream in held] == [200] * MAX_STREAMS
    # A second login of the same user shares the user's count.
    status, error = answer(logged_in(base_url, "dana"), FEED)
    assert status == 429
    assert error is not None
    assert error["error"]["code"] == "too_many_streams"
    # Another user of the same organisation has slots of their own.
    gina = OpenStream(logged_in(base_url, "gina"), FEED).start()
    assert gina.status_code == 200
    dana.close()  # ends dana's streams: their slots come back
    deadline = time.monotonic() + 5
    again = logged_in(base_url, "dana")
    while (status := answer(again, FEED)[0]) != 200 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert status == 200


def _closes_within_heartbeats(stack: Stack, stream: OpenStream, change: str) -> None:
    time.sleep(HEARTBEAT * 2)
    assert not stream.ended.is_set()
    assert b": heartbeat" in b"".join(stream.chunks)
    stack.manage("shell", "-c", change)
    # The manage.py process takes a while to start; then a heartbeat or two at most.
    assert stream.ended.wait(HEARTBEAT * 4), "the stream stayed open"


@pytest.mark.parametrize(
    ("username", "change"),
    [
        (
            "erin",
            "from django.contrib.auth.models import User; User.objects.filter(username='erin').update(is_active=False)",
        ),
        (
            "frank",
            "from accounts.models import Membership; Membership.objects.filter(user__username='frank').delete()",
        ),
    ],
    ids=["deactivated", "removed-from-the-organisation"],
)
def test_it_closes_the_stream_of_a_user_who_lost_access(
    stack: Stack, base_url: str, team: Team, username: str, change: str
) -> None:
    client = logged_in(base_url, username)
    stream = OpenStream(client, FEED).start()
    assert stream.status_code == 200
    _closes_within_heartbeats(stack, stream, change)
    # And the session opens no new stream.
    assert answer(client, FEED)[0] == 401
