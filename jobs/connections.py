"""Getting past a lost database connection in the job machinery (runs, heartbeats, the outbox).

A terminated backend (`pg_terminate_backend`, a failover, a database restart) kills every
connection of a process at once. Django never reconnects a connection a thread holds, so a
long-lived thread (a heartbeat, the dispatcher) keeps failing on it until it is closed; and a
write that must not be lost (giving a job back, owing its message again) is tried again on a
new one. The pool replaces its own dead idle connections (core/postgresql/base.py).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TypeVar

from django.db import DatabaseError, connection

logger = logging.getLogger(__name__)

T = TypeVar("T")

# Tries of a write that must survive a lost connection, and the pause before the n-th retry
# (n × this): long enough for a database that is restarting to accept connections again.
WRITE_ATTEMPTS = 3
RETRY_PAUSE_SECONDS = 0.5


def drop_thread_connection() -> None:
    """Close this thread's connection, so its next query takes a checked one from the pool.

    Not inside a transaction: its work is lost with the connection, and the caller's
    `atomic()` must see the error.
    """
    if connection.in_atomic_block:
        return
    try:
        connection.close()  # back to the pool, which discards it if it is broken
    except DatabaseError:
        logger.debug("Closing a broken connection failed", exc_info=True)


def retry_on_lost_connection(write: Callable[[], T], what: str) -> T:
    """`write()`, tried again on fresh connections after a database error (WRITE_ATTEMPTS in all).

    For short idempotent writes outside any transaction; the last error propagates.
    """
    for attempt in range(1, WRITE_ATTEMPTS + 1):
        try:
            return write()
        except DatabaseError:
            if connection.in_atomic_block or attempt == WRITE_ATTEMPTS:
                raise
            logger.warning("%s failed (attempt %d); retrying on a new connection", what, attempt)
            drop_thread_connection()
            time.sleep(RETRY_PAUSE_SECONDS * attempt)
    raise AssertionError("unreachable")  # the loop returns or raises
