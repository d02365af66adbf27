"""The product's routes plus test-only views: one newly marked streaming view, one plain view."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Awaitable, Callable

from django.http import HttpRequest, JsonResponse
from django.urls import path

from config.urls import urlpatterns as product_urlpatterns
from events.encoding import encode_event
from events.streams import GeneratorSource, StreamRequest, stream_view

SLOW_STEP_SECONDS = 0.3
HEARTBEAT_SECONDS = 0.05

#: What the test streams' sources saw, for the tests to check (one test process, one loop).
closed: list[str] = []


async def two_slow_steps(name: str) -> AsyncGenerator[bytes, None]:
    try:
        for step in range(2):
            await asyncio.sleep(SLOW_STEP_SECONDS)  # long enough for heartbeats meanwhile
            yield encode_event("step", {"type": "step", "step": step})
    finally:
        closed.append(name)


@stream_view()
async def slow_stream(stream: StreamRequest) -> GeneratorSource:
    """A stream added by a test: routed as a stream because it is marked, not by its path."""
    name = stream.request.GET.get("name", "slow")
    return GeneratorSource(
        "test", two_slow_steps(name), heartbeat_seconds=HEARTBEAT_SECONDS, on_close=_on_close(name)
    )


def _on_close(name: str) -> Callable[[], Awaitable[None]]:
    async def on_close() -> None:
        closed.append(f"{name}:on_close")

    return on_close


def plain_view(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"plain": True})


urlpatterns = [
    *product_urlpatterns,
    path("test/slow-stream", slow_stream),
    path("test/plain", plain_view),
]
