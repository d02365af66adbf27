from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from rest_framework.test import APIClient

from tests.webhooks.receiver import Receiver


@pytest.fixture
def allow_private(settings: Any) -> None:
    """The test receivers listen on 127.0.0.1, which production refuses."""
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = True


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver().start()
    yield server
    server.stop()


def create_webhook(
    api: APIClient, url: str, event_types: list[str] | None = None, **extra: Any
) -> dict[str, Any]:
    response = api.post(
        "/api/v1/webhooks", {"url": url, "event_types": event_types or ["*"], **extra}, format="json"
    )
    assert response.status_code == 201, response.content
    body: dict[str, Any] = response.json()
    return body
