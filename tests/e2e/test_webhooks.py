"""Webhooks on real processes, in both run modes: a receiver (a local HTTP server) gets every
event of its types exactly as stored, in order, signed, after being down for a while and after
a replay; a receiver that keeps failing gets its endpoint disabled, which the org feed announces;
a URL on a private address is refused where private addresses are not allowed.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from dealstream import verify_webhook

from tests.e2e.stack import Stack, stack_in_mode
from tests.events.support import wait_until
from tests.webhooks.receiver import Receiver

pytestmark = pytest.mark.e2e

# Short enough for a test, long enough that a receiver down for a few seconds is not disabled.
DISABLE_AFTER_SECONDS = 10
DOWN_SECONDS = 2.5
SETTINGS = {
    "WEBHOOK_ALLOW_PRIVATE_URLS": "1",
    "WEBHOOK_RETRY_SCHEDULE": ",".join(["0"] + ["0.5"] * 40),
    "WEBHOOK_DISABLE_AFTER_SECONDS": str(DISABLE_AFTER_SECONDS),
    "WEBHOOK_SWEEP_SECONDS": "0.5",
    "RATE_LIMIT_PER_MINUTE": "100000",
}


class Api:
    def __init__(self, base_url: str, key: str) -> None:
        self.http = httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {key}"}, timeout=30)

    def call(self, method: str, path: str, expected: int, **kwargs: Any) -> Any:
        response = self.http.request(method, path, **kwargs)
        assert response.status_code == expected, response.text
        return response.json() if response.content else None

    def create_deals(self, count: int) -> None:
        for n in range(count):
            self.call("POST", "/api/v1/deals", 201, json={"business_name": f"Bakery {n}"})

    def logged(self, event_type: str) -> list[dict[str, Any]]:
        """Every stored event of `event_type`, oldest first, from the polling log."""
        events: list[dict[str, Any]] = []
        after = 0
        while True:
            page = self.call(
                "GET", "/api/v1/events/log", 200, params={"after": after, "type": event_type, "limit": 500}
            )
            events += page["results"]
            if not page["next"]:
                return events
            after = events[-1]["id"]


@pytest.fixture(params=["embedded", "distributed"])
def stack(request: pytest.FixtureRequest) -> Iterator[tuple[Stack, str]]:
    with stack_in_mode(request.param, **SETTINGS) as stack:
        base_url = stack.start_web()
        if request.param == "distributed":
            stack.start_worker(concurrency=2)
            stack.start_beat()
        yield stack, base_url


@pytest.fixture
def receivers() -> Iterator[tuple[Receiver, Receiver]]:
    healthy, failing = Receiver().start(), Receiver(status=500).start()
    yield healthy, failing
    healthy.stop()
    failing.stop()


def received_events(receiver: Receiver, secret: str) -> list[dict[str, Any]]:
    """Every delivery's body, after checking its signature and that `webhook-id` is the event id."""
    bodies = []
    for request in receiver.requests():
        body = verify_webhook(request.body, request.headers, secret)
        assert request.headers["webhook-id"] == str(body["id"])
        bodies.append(body)
    return bodies


def as_delivered(logged: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": logged["id"],
        "type": logged["type"],
        "timestamp": logged["data"]["timestamp"],
        "data": logged["data"],
    }


def test_webhooks_deliver_every_event_in_order_through_outages_and_replays(
    stack: tuple[Stack, str], receivers: tuple[Receiver, Receiver]
) -> None:
    deployment, base_url = stack
    healthy, failing = receivers
    key = deployment.create_key()
    api = Api(base_url, key)
    endpoint = api.call("POST", "/api/v1/webhooks", 201, json={"url": healthy.url, "event_types": ["deal.*"]})
    doomed = api.call(
        "POST", "/api/v1/webhooks", 201, json={"url": failing.url, "event_types": ["deal.created"]}
    )

    api.create_deals(5)
    wait_until(lambda: len(healthy.requests()) >= 5, 30, message="the first events were not delivered")

    # Down for a while: the events published meanwhile wait, in order, and are retried.
    healthy.stop()
    api.create_deals(5)
    wait_until(
        lambda: any(
            d["status"] == "retrying" and d["response_code"] is None
            for d in api.call("GET", f"/api/v1/webhooks/{endpoint['id']}/deliveries", 200)["results"]
        ),
        30,
        message="no failed attempt was recorded while the receiver was down",
    )
    time.sleep(DOWN_SECONDS)
    healthy.start()
    api.create_deals(2)
    stored = [as_delivered(event) for event in api.logged("deal.created")]
    assert len(stored) == 12
    wait_until(lambda: len(healthy.requests()) >= 12, 60, message="the receiver did not catch up")
    assert (
        received_events(healthy, endpoint["secret"]) == stored
    )  # same ids, same bodies, in order, once each

    # A replay re-sends every event after the position given, in order.
    api.call("POST", f"/api/v1/webhooks/{endpoint['id']}/replay", 202, json={"since_id": stored[6]["id"]})
    wait_until(lambda: len(healthy.requests()) >= 12 + 5, 60, message="the replay was not delivered")
    assert received_events(healthy, endpoint["secret"]) == stored + stored[7:]

    # The endpoint whose receiver always fails is disabled, and the org feed says so.
    wait_until(
        lambda: api.logged("webhook.endpoint_disabled"),
        DISABLE_AFTER_SECONDS + 60,
        interval=0.5,
        message="the failing endpoint was not disabled",
    )
    [notice] = api.logged("webhook.endpoint_disabled")
    assert notice["data"]["webhook_id"] == doomed["id"]
    assert notice["data"]["url"] == failing.url
    assert api.call("GET", f"/api/v1/webhooks/{doomed['id']}", 200)["enabled"] is False
    assert api.call("GET", f"/api/v1/webhooks/{endpoint['id']}", 200)["enabled"] is True
    attempts = api.call("GET", f"/api/v1/webhooks/{doomed['id']}/deliveries", 200, params={"limit": 200})[
        "results"
    ]
    assert {a["response_code"] for a in attempts} == {500}
    assert attempts[0]["status"] == "failed"
    assert len(failing.requests()) == len(attempts)

    # Where private addresses are not allowed (production), such a URL is refused at once.
    strict = Api(deployment.start_web(WEBHOOK_ALLOW_PRIVATE_URLS="0"), key)
    refused = strict.http.post("/api/v1/webhooks", json={"url": healthy.url, "event_types": ["*"]})
    assert refused.status_code == 400
    assert "private address" in json.dumps(refused.json()["error"]["fields"]["url"])
