"""Fixtures of the event-feed tests."""

from __future__ import annotations

import pytest
from django.db import connections


@pytest.fixture(autouse=True)
def _short_lived_thread_connections(monkeypatch: pytest.MonkeyPatch) -> None:
    # The hub's store queries run on executor threads whose connections would outlive
    # the test (and block dropping the test database): close each one after its call.
    monkeypatch.setitem(connections.settings["default"], "CONN_MAX_AGE", 0)
