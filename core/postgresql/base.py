"""Django's PostgreSQL backend whose pool, finding one dead connection, replaces every dead one.

When the database cuts a process's connections (`pg_terminate_backend`, a failover, a restart),
every idle connection in the pool is dead at once. The pool checks a connection only as it hands
it out (`CONN_HEALTH_CHECKS`), and after each failed check it backs off 1 s, 2 s, 4 s… before
taking the next (psycopg_pool's `getconn`): with four dead connections idle, a request gives up
after the pool's 10 s timeout, and a process with twenty spends a minute answering 503s. Here a
failed check first has the pool check all its idle connections (`ConnectionPool.check()`: one
round trip each, the dead ones replaced in the background), so the next try, about a second
later, gets a live connection.
"""

from __future__ import annotations

import functools
import logging
from typing import Any

from django.db.backends.postgresql import base
from psycopg_pool import ConnectionPool

logger = logging.getLogger(__name__)


def check_or_replace_dead(pool: ConnectionPool[Any], conn: Any) -> None:
    """The pool's checkout check: psycopg_pool's own, and on failure a sweep of the idle ones."""
    try:
        ConnectionPool.check_connection(conn)
    except Exception:
        logger.warning("A pooled database connection was dead; checking the others")
        try:
            pool.check()
        except Exception:
            logger.warning("Checking the pooled database connections failed", exc_info=True)
        raise  # this one is rejected: the pool discards it and hands out another


class DatabaseWrapper(base.DatabaseWrapper):
    @property
    def pool(self) -> ConnectionPool[Any] | None:
        pool: ConnectionPool[Any] | None = super().pool  # type: ignore[misc]  # not in django-stubs
        # Django builds the pool with psycopg_pool's plain check when CONN_HEALTH_CHECKS is on
        # and offers no setting for another; the pool keeps it in `_check` (psycopg_pool 3.2+).
        if pool is not None and getattr(pool, "_check", None) is ConnectionPool.check_connection:
            pool._check = functools.partial(check_or_replace_dead, pool)
        return pool
