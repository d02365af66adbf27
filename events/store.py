"""Reading the event store from the event loop: what a stream reads as it opens.

After a deploy every client reconnects at once, and each open reads its resume position and
first replay page. Through Django's ORM that read costs a trip to a worker thread, a pooled
connection checked with a query of its own, and the query's compilation: most of an open
(docs/performance.md, "Reconnect storm"). Here it is one prepared-shape SQL statement on a
few asynchronous PostgreSQL connections owned by the event loop: no thread, no check.

A connection the server terminated (a restart, a failover, `pg_terminate_backend`) fails its
next statement with an OperationalError: it is dropped and the read, which changes nothing,
runs once more on a fresh connection. Idle connections are closed after a while, and all of
them when the loop stops. Only PostgreSQL has this path (`available()`); elsewhere callers
read through the ORM on a thread as before.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
import weakref
from collections.abc import Sequence
from typing import Any

import psycopg
from django.conf import settings
from django.db import connections

logger = logging.getLogger(__name__)

# Idle connections older than this are closed by the keeper (a quiet process holds none).
IDLE_SECONDS = 60.0
# The same bound as the ORM pool's wait for a connection (settings.DATABASES OPTIONS pool timeout).
CONNECT_TIMEOUT_SECONDS = 10


@functools.cache
def available() -> bool:
    """Whether the default database is PostgreSQL, the only one read from the loop directly.

    Asked once per process: `connections["default"]` makes a connection object for each
    asyncio context that asks, and a stream's would live as long as the stream (2.4 KB each).
    """
    return bool(connections["default"].vendor == "postgresql")


def _connection_params() -> dict[str, Any]:
    # Django's own parameters (a test run's database included), minus what only its
    # synchronous cursors use; its `prepare_threshold` (off unless configured) is kept.
    params = dict(connections["default"].get_connection_params())
    for name in ("cursor_factory", "context"):
        params.pop(name, None)
    # An unreachable server refuses the open (503, retry) rather than holding it for minutes.
    params.setdefault("connect_timeout", CONNECT_TIMEOUT_SECONDS)
    return params


class LoopStore:
    """At most `size` connections of one event loop, lent to one statement at a time."""

    def __init__(self, size: int) -> None:
        self._gate = asyncio.Semaphore(size)
        self._idle: list[tuple[psycopg.AsyncConnection[Any], float]] = []
        self._keeper: asyncio.Task[None] | None = None

    async def fetch(self, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        """The rows of one read-only statement (retried once on a fresh connection if its own was dead)."""
        async with self._gate:
            for attempt in (1, 2):
                connection = await self._borrow()
                try:
                    cursor = await connection.execute(sql, params)
                    rows = await cursor.fetchall()
                except psycopg.OperationalError:
                    await _close(connection)
                    if attempt == 2:
                        raise
                    logger.info("A stream-open database connection was lost; reading again on a new one")
                    continue
                except BaseException:
                    # Cancelled or failed mid-statement: its state is unknown, so it is not reused.
                    await _close(connection)
                    raise
                self._idle.append((connection, time.monotonic()))
                return rows
        raise AssertionError("unreachable")

    async def _borrow(self) -> psycopg.AsyncConnection[Any]:
        while self._idle:
            connection, _since = self._idle.pop()
            if not connection.closed:
                return connection
        if self._keeper is None or self._keeper.done():
            self._keeper = asyncio.get_running_loop().create_task(self._keep(), name="stream-store-keeper")
        return await psycopg.AsyncConnection.connect(autocommit=True, **_connection_params())

    async def _keep(self) -> None:
        """Close connections idle for IDLE_SECONDS; close every idle one when the loop stops."""
        try:
            while True:
                await asyncio.sleep(IDLE_SECONDS / 2)
                cutoff = time.monotonic() - IDLE_SECONDS
                stale = [c for c, since in self._idle if since < cutoff]
                self._idle = [(c, since) for c, since in self._idle if since >= cutoff]
                for connection in stale:
                    await _close(connection)
        finally:
            # Cancelled as the loop shuts down: the database must not keep these sessions
            # (a test run could not drop its database).
            idle, self._idle = self._idle, []
            for connection, _since in idle:
                await _close(connection)


async def _close(connection: psycopg.AsyncConnection[Any]) -> None:
    with contextlib.suppress(Exception):
        await connection.close()


_stores: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, LoopStore] = weakref.WeakKeyDictionary()


def loop_store() -> LoopStore:
    """This event loop's store connections."""
    loop = asyncio.get_running_loop()
    store = _stores.get(loop)
    if store is None:
        store = _stores[loop] = LoopStore(int(settings.SSE_OPEN_DB_CONNECTIONS))
    return store
