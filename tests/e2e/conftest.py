"""Fixtures of the end-to-end fault drills."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator

import pytest

from tests.e2e.stack import RedisServer, own_redis


@pytest.fixture
def redis() -> Iterator[RedisServer]:
    """A Redis server of the test's own, to kill and restart (never the shared one)."""
    if shutil.which("redis-server") is None:
        if os.environ.get("DEALSTREAM_REQUIRE_SERVICES") == "1":
            pytest.fail("redis-server is not installed; the fault drills start their own")
        pytest.skip("redis-server is not installed; the fault drills start their own")
    with own_redis() as server:
        yield server
