"""Fixtures of the client's tests: a fake API server and clients pointed at it."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from tests.client.fake_server import Exchange, FakeServer

Script = Callable[[Exchange, int], None]


@pytest.fixture
def serve() -> Iterator[Callable[[Script], FakeServer]]:
    """Start a fake server running the given script; stopped after the test."""
    servers: list[FakeServer] = []

    def start(script: Script) -> FakeServer:
        server = FakeServer(script).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def no_sleep(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Record the client's retry waits instead of sleeping through them."""
    delays: list[float] = []

    def record(seconds: float) -> None:
        delays.append(seconds)

    async def arecord(seconds: float) -> None:
        delays.append(seconds)

    monkeypatch.setattr("dealstream._client._sleep", record)
    monkeypatch.setattr("dealstream._client._pause", lambda closing, seconds: record(seconds))
    monkeypatch.setattr("dealstream._async_client._sleep", arecord)
    return delays
