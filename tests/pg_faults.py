"""Cutting real PostgreSQL connections from a test, as an operator, a failover or a restart does."""

from __future__ import annotations

import os

import psycopg
import pytest
from django.db import connection


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
