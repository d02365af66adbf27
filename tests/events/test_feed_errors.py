"""A feed that cannot be opened answers a JSON error before any stream byte."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import AsyncClient

from events.hub import Hub

# Streams read the database from the shared thread pool, which only sees committed rows.
pytestmark = pytest.mark.django_db(transaction=True)


async def test_it_answers_503_when_the_channel_layer_is_away(
    api_key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def unreachable(self: Hub, subscriber: Any) -> None:
        raise ConnectionError("Redis is down")

    monkeypatch.setattr(Hub, "subscribe", unreachable)
    response = await AsyncClient().get("/api/v1/events", headers={"Authorization": f"Bearer {api_key}"})
    assert response.status_code == 503
    assert response["Content-Type"] == "application/json"
    assert response["Retry-After"] == "5"
    assert response.json()["error"]["code"] == "stream_unavailable"


async def test_a_non_integer_last_event_id_is_400(api_key: str) -> None:
    response = await AsyncClient().get(
        "/api/v1/events", headers={"Authorization": f"Bearer {api_key}", "Last-Event-ID": "abc"}
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_last_event_id"


async def test_a_refused_stream_carries_rate_limit_headers_and_is_limited_per_address(
    settings: Any, db: None
) -> None:
    settings.RATE_LIMIT_UNAUTHENTICATED_PER_MINUTE = 2
    client = AsyncClient(REMOTE_ADDR="203.0.113.9")
    first = await client.get("/api/v1/events?token=dsk_live_" + "x" * 43)
    assert first.status_code == 401
    assert first["X-RateLimit-Limit"] == "2"
    assert first["X-RateLimit-Remaining"] == "1"
    await client.get("/api/v1/events")
    limited = await client.get("/api/v1/events")
    assert limited.status_code == 429
    assert limited.json()["error"]["code"] == "rate_limited"
    assert limited["Retry-After"]
