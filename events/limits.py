"""How many streams one API key, or one dashboard user, may hold open, across every web process.

A stream is held by its credential: `key:<id>` (SSE_MAX_STREAMS_PER_KEY) or, for a
session, `user:<id>` (SSE_MAX_STREAMS_PER_USER).
Distributed: a Redis sorted set per holder, members are stream ids scored by lease expiry;
the hub refreshes leases every heartbeat, so a crashed process's slots free themselves.
Embedded: a counter in this process, which is the only one.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import redis.asyncio as aioredis
from django.conf import settings
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

# Atomically drop expired leases, then take a slot if one is free.
_ACQUIRE = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[4])
redis.call('EXPIRE', KEYS[1], ARGV[5])
return 1
"""

# A counter of a fixed window: created at 1 with its expiry, else incremented.
_COUNT = """
if redis.call('SET', KEYS[1], 1, 'NX', 'EX', ARGV[1]) then return 1 end
return redis.call('INCR', KEYS[1])
"""


def stream_holder(api_key_id: int | None, user_id: int | None) -> str | None:
    """Whose slots a stream takes: its key's, else its session user's (None: nobody's)."""
    if api_key_id is not None:
        return f"key:{api_key_id}"
    if user_id is not None:
        return f"user:{user_id}"
    return None


def holder_limit(holder: str) -> int:
    if holder.startswith("user:"):
        return int(settings.SSE_MAX_STREAMS_PER_USER)
    return int(settings.SSE_MAX_STREAMS_PER_KEY)


def too_many_streams_message(holder: str) -> str:
    who = "user" if holder.startswith("user:") else "API key"
    return f"This {who} already holds the maximum number of open streams."


def lease_seconds() -> float:
    # Three missed refreshes before a slot is considered abandoned.
    return max(30.0, 3 * float(settings.SSE_HEARTBEAT_SECONDS))


class StreamSlots:
    """Per-holder stream slots; one instance per hub (and so per event loop)."""

    def __init__(self) -> None:
        self._local: dict[str, set[str]] = {}
        # This loop's Redis client (None in embedded mode): the stream edge's other reads share it.
        self.client: Any = None
        self._acquire_script: Any = None
        self._count_script: Any = None
        if settings.REDIS_URL:
            self.client = aioredis.Redis.from_url(
                settings.REDIS_URL, socket_timeout=5, socket_connect_timeout=5
            )
            self._acquire_script = self.client.register_script(_ACQUIRE)
            self._count_script = self.client.register_script(_COUNT)

    async def count(self, name: str, ttl: int) -> int:
        """Add one to the counter `name`, created with `ttl` seconds to live; its new value.

        What django-ratelimit does with `cache.add` then `cache.incr` (three round trips
        through Django's Redis cache), in one.
        """
        return int(await self._count_script(keys=[name], args=[ttl]))

    def _key(self, holder: str) -> str:
        return f"{settings.REDIS_PREFIX}:streams:{holder}"

    async def acquire(self, holder: str, stream_id: str) -> bool:
        limit = holder_limit(holder)
        if self.client is None:
            held = self._local.setdefault(holder, set())
            if len(held) >= limit:
                return False
            held.add(stream_id)
            return True
        now = time.time()
        lease = lease_seconds()
        try:
            result = await self._acquire_script(
                keys=[self._key(holder)], args=[now, now + lease, limit, stream_id, int(lease * 2)]
            )
        except (RedisError, OSError):
            # Like the rate limit, the slot count fails open: with Redis away, open streams
            # still get their events from the store at each tick, and /status says why.
            logger.warning("Stream slots unavailable; stream allowed", exc_info=True)
            return True
        return bool(result)

    async def release(self, holder: str, stream_id: str) -> None:
        if self.client is None:
            self._local.get(holder, set()).discard(stream_id)
            return
        try:
            await self.client.zrem(self._key(holder), stream_id)
        except (RedisError, OSError):
            logger.warning("Could not release a stream slot; its lease will expire", exc_info=True)

    async def release_many(self, held: list[tuple[str, str]]) -> None:
        """Free many slots in one round trip (a stopping process ending all its streams)."""
        if self.client is None:
            for holder, stream_id in held:
                self._local.get(holder, set()).discard(stream_id)
            return
        if not held:
            return
        try:
            async with self.client.pipeline(transaction=False) as pipe:
                for holder, stream_id in held:
                    pipe.zrem(self._key(holder), stream_id)
                await pipe.execute()
        except (RedisError, OSError):
            logger.warning("Could not release %d stream slots; their leases will expire", len(held))

    async def refresh(self, held: list[tuple[str, str]]) -> None:
        """Extend the leases of the streams this process still holds."""
        if self.client is None or not held:
            return
        expiry = time.time() + lease_seconds()
        async with self.client.pipeline(transaction=False) as pipe:
            for holder, stream_id in held:
                pipe.zadd(self._key(holder), {stream_id: expiry}, xx=True)
            await pipe.execute()

    async def close(self) -> None:
        if self.client is not None:
            await self.client.aclose()
