"""Cutting real PostgreSQL connections from a test, as an operator, a failover or a restart does."""

from __future__ import annotations

import contextlib
import os
from typing import Any

import psycopg
import pytest
from django.db import connection
from psycopg_pool import PoolTimeout


def require_postgresql() -> None:
    """Skip (fail, where the services are required) unless the tests run on PostgreSQL."""
    if connection.vendor != "postgresql":
        if os.environ.get("DEALSTREAM_REQUIRE_SERVICES") == "1":
            pytest.fail("this test needs PostgreSQL (DATABASE_URL)")
        pytest.skip("this test needs PostgreSQL (DATABASE_URL)")


def terminate_every_other_backend() -> int:
    """Terminate every connection to the test database but this thread's, pooled ones included."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return int(cursor.fetchone()[0])


def terminate_this_threads_backend() -> None:
    """Cut the connection this thread holds, from another one (it cannot end itself cleanly)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    params = connection.get_connection_params()
    with psycopg.connect(
        host=params.get("host"),
        port=params.get("port"),
        user=params.get("user"),
        dbname=params["dbname"],
        autocommit=True,
    ) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))


#: Dead idle connections that already outlast the pool's 10 s checkout timeout on their own
#: (psycopg_pool backs off 1 s, 2 s, 4 s, 8 s… after each dead one it checks out).
ENOUGH_IDLE = 5


def fill_pool_with_idle(pool: Any, wanted: int) -> int:
    """Leave up to `wanted` idle connections in `pool`, as a busy process has; returns how many.

    Earlier tests' threads may still hold some of the pool's connections, so this takes what
    the pool lends at once rather than waiting for its size.
    """
    held: list[Any] = []
    with contextlib.suppress(PoolTimeout):
        while len(held) < wanted:
            held.append(pool.getconn(timeout=1))
    for conn in held:
        pool.putconn(conn)
    assert len(held) >= ENOUGH_IDLE, f"the pool lent only {len(held)} connections"
    return len(held)
