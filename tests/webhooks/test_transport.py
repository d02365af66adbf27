"""The one network call of delivery: addresses checked after the lookup, then pinned."""

from __future__ import annotations

import ipaddress

import pytest

from outbound import http
from tests.webhooks.receiver import Receiver
from webhooks import transport


def test_it_connects_to_the_checked_address_and_keeps_the_host_name(
    monkeypatch: pytest.MonkeyPatch, receiver: Receiver
) -> None:
    looked_up: list[str] = []

    def resolve(host: str, port: int, *, timeout: float) -> list[ipaddress.IPv4Address]:
        looked_up.append(host)
        return [ipaddress.IPv4Address("127.0.0.1")]

    monkeypatch.setattr(http, "resolve_host", resolve)
    url = f"http://hooks.example.com:{receiver.port}/hook?x=1"
    response = transport.post(url, b"{}", {"webhook-id": "1"}, allow_private=True, timeout=5)
    assert response.status == 200
    assert looked_up == ["hooks.example.com"]  # once: the connection does not look it up again
    [request] = receiver.requests()
    assert request.path == "/hook?x=1"
    assert request.headers["host"] == f"hooks.example.com:{receiver.port}"
    assert request.headers["webhook-id"] == "1"


def test_it_refuses_a_name_with_any_private_address(monkeypatch: pytest.MonkeyPatch) -> None:
    addresses = [ipaddress.IPv4Address("93.184.216.34"), ipaddress.IPv4Address("10.0.0.7")]
    monkeypatch.setattr(http, "resolve_host", lambda host, port, *, timeout: addresses)
    with pytest.raises(http.OutboundError, match="private address"):
        transport.post("https://hooks.example.com/", b"{}", {}, allow_private=False, timeout=5)


@pytest.mark.parametrize(
    "url",
    [
        "http://localhost:8000/",
        "http://metadata.google.internal/",
        "http://printer.local/",
        "http://[::ffff:127.0.0.1]/",
    ],
)
def test_it_refuses_private_names_and_addresses_without_sending(url: str) -> None:
    with pytest.raises(http.OutboundError, match="private address"):
        transport.post(url, b"{}", {}, allow_private=False, timeout=5)


def test_it_reports_a_receiver_that_is_not_there() -> None:
    with pytest.raises(http.OutboundError, match="could not be reached"):
        transport.post("http://127.0.0.1:9/", b"{}", {}, allow_private=True, timeout=5)
