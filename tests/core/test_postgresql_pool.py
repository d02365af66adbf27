"""The connection pool gets past a mass disconnection at once (core/postgresql/base.py).

Real PostgreSQL: every connection of the process is terminated with `pg_terminate_backend`,
as an operator, a failover or a database restart does.
"""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection

from tests.pg_faults import fill_pool_with_idle, require_postgresql, terminate_every_other_backend

pytestmark = pytest.mark.django_db(transaction=True)

#: Idle connections in the pool when they are all cut, as in a busy web process or worker.
IDLE_CONNECTIONS = 8


def test_a_checkout_after_every_connection_was_terminated_is_not_held_up_by_the_dead_ones() -> None:
    require_postgresql()
    pool = getattr(connection, "pool", None)
    assert pool is not None, "PostgreSQL runs with Django's connection pool (the settings)"
    idle = fill_pool_with_idle(pool, IDLE_CONNECTIONS)
    # The connection asking may itself be one of the pool's idle ones (after earlier tests).
    assert terminate_every_other_backend() >= idle - 1

    # Another thread, as the next request or job would: it takes a connection from the pool.
    answered: list[float] = []

    def query() -> None:
        started = time.monotonic()
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        answered.append(time.monotonic() - started)
        connection.close()

    thread = threading.Thread(target=query)
    thread.start()
    thread.join(timeout=30)
    # psycopg_pool alone backs off 1 s, 2 s, 4 s… after each dead connection it checks out:
    # 8 dead ones outlast its 10 s timeout. One sweep of the pool costs about one back-off.
    assert answered, "the query failed"
    assert answered[0] < 3, f"a connection after {answered[0]:.1f} s"
