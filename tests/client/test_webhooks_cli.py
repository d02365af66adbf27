"""`dealstream webhooks …`, `dealstream listen` and `client.webhooks` against the real product
(the embedded deployment: one web process running its deliveries itself)."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from dealstream import Dealstream, NotFoundError, ValidationError, verify_webhook

from tests.client.test_cli import cli_env, run
from tests.e2e.stack import ROOT, Stack, embedded_stack
from tests.events.support import wait_until
from tests.webhooks.receiver import Receiver

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]


@dataclass
class Product:
    stack: Stack
    url: str
    key: str


@pytest.fixture(scope="module")
def product() -> Iterator[Product]:
    with embedded_stack(
        RATE_LIMIT_PER_MINUTE="100000", WEBHOOK_ALLOW_PRIVATE_URLS="1", WEBHOOK_SWEEP_SECONDS="0.5"
    ) as stack:
        yield Product(stack, stack.start_web(), stack.create_key("Webhook CLI"))


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver().start()
    yield server
    server.stop()


def test_the_client_manages_endpoints(product: Product, receiver: Receiver) -> None:
    with Dealstream(product.key, product.url) as client:
        created = client.webhooks.create(receiver.url, ["deal.decision"], description="client")
        assert created["secret"].startswith("whsec_")
        assert client.webhooks.get(created["id"])["description"] == "client"
        assert client.webhooks.update(created["id"], enabled=False)["enabled"] is False
        rotated = client.webhooks.rotate_secret(created["id"])
        assert rotated["secret"] != created["secret"]
        with pytest.raises(ValidationError) as refused:
            client.webhooks.create(receiver.url, ["no.such.event"])
        assert "matches no event type" in str(refused.value.fields)
        client.webhooks.delete(created["id"])
        with pytest.raises(NotFoundError):
            client.webhooks.get(created["id"])


def test_the_webhooks_commands_create_list_inspect_and_replay(product: Product, receiver: Receiver) -> None:
    created = run(product.url, "webhooks", "create", receiver.url, "--events", "deal.*", key=product.key)
    assert created.returncode == 0, created.stderr
    webhook_id = created.stdout.split()[0]
    secret = re.search(r"signing secret \(shown once\): (whsec_\S+)", created.stdout)
    assert webhook_id.startswith("wh_")
    assert secret is not None
    listed = run(product.url, "webhooks", "list", key=product.key)
    assert webhook_id in listed.stdout
    assert "enabled" in listed.stdout

    with Dealstream(product.key, product.url) as client:
        for name in ("One", "Two"):
            client.deals.create(name)
    wait_until(lambda: len(receiver.requests()) == 2, 30, message="the deals' events were not delivered")
    ids = [verify_webhook(r.body, r.headers, secret.group(1))["id"] for r in receiver.requests()]

    deliveries = run(product.url, "webhooks", "deliveries", webhook_id, "--json", key=product.key)
    assert deliveries.returncode == 0, deliveries.stderr
    assert [(d["event_id"], d["status"]) for d in json.loads(deliveries.stdout)] == [
        (ids[1], "delivered"),
        (ids[0], "delivered"),
    ]
    readable = run(product.url, "webhooks", "deliveries", webhook_id, key=product.key)
    assert f"#{ids[0]}" in readable.stdout
    assert "delivered 200" in readable.stdout

    replayed = run(product.url, "webhooks", "replay", webhook_id, "--since", str(ids[0]), key=product.key)
    assert replayed.returncode == 0, replayed.stderr
    wait_until(lambda: len(receiver.requests()) == 3, 30, message="the replay was not delivered")
    assert json.loads(receiver.requests()[2].body)["id"] == ids[1]

    missing = run(product.url, "webhooks", "replay", "wh_missing", "--since", "0", key=product.key)
    assert missing.returncode == 1
    assert "No such webhook" in missing.stderr


def test_listen_forwards_live_events_signed_like_deliveries(product: Product, receiver: Receiver) -> None:
    listener = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "dealstream",
            "listen",
            "--forward-to",
            receiver.url,
            "--events",
            "deal.created",
        ],
        cwd=ROOT,
        env=cli_env(product.url, product.key),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert listener.stdout is not None
        assert listener.stdout.readline().startswith("Forwarding deal.created to")
        secret = listener.stdout.readline().split("Signing secret: ")[1].strip()
        with Dealstream(product.key, product.url) as client:
            # The stream may still be opening: publish until the first event is forwarded.
            def forwarded() -> bool:
                client.deals.create("Listened")
                return bool(receiver.requests())

            wait_until(forwarded, 30, interval=0.5, message="listen forwarded nothing")
            [request, *_] = receiver.requests()
            body = verify_webhook(request.body, request.headers, secret)
            assert body["type"] == "deal.created"
            assert request.headers["webhook-id"] == str(body["id"])
        logged = httpx.get(
            product.url + "/api/v1/events/log",
            params={"after": body["id"] - 1, "limit": 1},
            headers={"Authorization": f"Bearer {product.key}"},
        ).json()["results"][0]
        assert (logged["id"], logged["data"]) == (body["id"], body["data"])
        line = listener.stdout.readline()
        assert f"#{body['id']:>7}  deal.created" in line
        assert "→ 200" in line
    finally:
        listener.send_signal(signal.SIGINT)
        listener.wait(timeout=15)
    assert listener.returncode == 130, listener.stderr.read() if listener.stderr else ""
