"""Django's Redis cache, with one connection pool per process instead of one per request.

Django keeps a cache object per async context, so under ASGI every request builds a new
client and, with it, a new connection pool: one TCP connection to Redis per request.
Sharing the pool (per server URL, per process) keeps a handful of warm connections.
"""

from __future__ import annotations

import os
import threading
from typing import Any

from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient

_pools: dict[tuple[int, str], Any] = {}
_pools_lock = threading.Lock()


class SharedPoolRedisCacheClient(RedisCacheClient):
    # Set by RedisCacheClient.__init__; django-stubs leaves private attributes out.
    _servers: list[str]
    _pool_class: Any
    _pool_options: dict[str, Any]

    def _get_connection_pool(self, write: bool) -> Any:
        index: int = RedisCacheClient._get_connection_pool_index(self, write)  # type: ignore[attr-defined]
        url = self._servers[index]
        # Keyed by pid too: a forked worker must not reuse its parent's sockets.
        key = (os.getpid(), url)
        with _pools_lock:
            if key not in _pools:
                _pools[key] = self._pool_class.from_url(url, **self._pool_options)
            return _pools[key]


class RedisCache(DjangoRedisCache):
    def __init__(self, server: str, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = SharedPoolRedisCacheClient
