"""The outbound HTTP client against a real local server (private addresses allowed by the flag)."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from outbound import http


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _answer(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        self.server.seen.append(("POST", self.path))
        length = int(self.headers.get("Content-Length") or 0)
        received = self.rfile.read(length)
        if self.path == "/echo":
            echo = {
                "body": received.decode(),
                "content_type": self.headers.get("Content-Type"),
                "signature": self.headers.get("X-Signature"),
                "host": self.headers.get("Host"),
            }
            self._answer(201, json.dumps(echo).encode(), {"Content-Type": "application/json"})
        elif self.path == "/moved":
            self._answer(307, b"", {"Location": "/echo"})
        elif self.path == "/broken":
            self._answer(500, b"receiver failed")
        else:
            self._answer(200, b"x" * 5000)

    def do_GET(self) -> None:
        self.server.seen.append(("GET", self.path))
        self._answer(302, b"", {"Location": "/elsewhere"})


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.seen: list[tuple[str, str]] = []

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}{path}"


@pytest.fixture(scope="module")
def server() -> Iterator[_Server]:
    server = _Server()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def post(url: str, body: bytes = b"{}", **kwargs: Any) -> http.Response:
    options: dict[str, Any] = {"allow_private": True, "timeout": 5.0, "max_bytes": 1_000_000, **kwargs}
    return http.request("POST", url, body=body, **options)


def test_it_posts_a_body_with_its_headers(server: _Server) -> None:
    payload = b'{"type": "deal.decided"}'
    response = post(
        server.url("/echo"),
        payload,
        headers={"Content-Type": "application/json", "X-Signature": "t=1,v1=abc"},
    )
    assert response.status == 201
    assert response.headers["content-type"] == "application/json"
    assert json.loads(response.body) == {
        "body": payload.decode(),
        "content_type": "application/json",
        "signature": "t=1,v1=abc",
        "host": f"127.0.0.1:{server.server_address[1]}",
    }
    assert 0 < response.elapsed < 5


def test_it_never_follows_a_redirect(server: _Server) -> None:
    server.seen.clear()
    response = post(server.url("/moved"))
    assert (response.status, response.headers["location"]) == (307, "/echo")
    assert server.seen == [("POST", "/moved")]

    response = http.request("GET", server.url("/start"), allow_private=True, timeout=5.0, max_bytes=1000)
    assert (response.status, response.headers["location"]) == (302, "/elsewhere")
    assert server.seen == [("POST", "/moved"), ("GET", "/start")]


def test_it_returns_an_error_status_with_its_body(server: _Server) -> None:
    response = post(server.url("/broken"))
    assert (response.status, response.body) == (500, b"receiver failed")


def test_it_caps_the_response_body(server: _Server) -> None:
    with pytest.raises(http.OutboundError) as raised:
        post(server.url("/large"), max_bytes=4000)
    assert raised.value.reason == "too_large"
    assert post(server.url("/large"), max_bytes=5000).body == b"x" * 5000


def test_it_cuts_a_long_body_at_the_cap_when_asked(server: _Server) -> None:
    response = post(server.url("/large"), max_bytes=4000, truncate=True)
    assert response.status == 200
    assert response.body == b"x" * 4000


def test_it_refuses_a_private_address_without_the_flag(
    server: _Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*args: Any, **kwargs: Any) -> socket.socket:
        raise AssertionError(f"a connection was attempted: {args}")

    monkeypatch.setattr(socket, "create_connection", refuse)
    server.seen.clear()
    with pytest.raises(http.OutboundError, match=r"^The URL points to a private address$") as raised:
        post(server.url("/echo"), allow_private=False)
    assert raised.value.reason == "not_allowed"
    assert server.seen == []


def test_a_spent_deadline_sends_nothing(server: _Server) -> None:
    server.seen.clear()
    with pytest.raises(http.OutboundError) as raised:
        post(server.url("/echo"), timeout=0)
    assert raised.value.reason == "timeout"
    assert server.seen == []


def test_a_closed_port_is_unreachable() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(http.OutboundError) as raised:
        post(f"http://127.0.0.1:{port}/echo")
    assert raised.value.reason == "unreachable"
