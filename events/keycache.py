"""API keys of stream requests, cached: after a deploy every client reconnects at once.

A key found usable is kept in Django's cache (Redis when distributed, so every web process
sees an invalidation) for `KEY_CACHE_SECONDS`, and dropped whenever its row changes: revoked,
rotated, edited or deleted (`forget_key`, connected in `EventsConfig.ready`). What changes
with time alone (expiry, `last_used_at`) is checked on every use.

A changed key's entry is not deleted but replaced by a FORGOTTEN marker for as long as an
entry lives, and a lookup stores what it read only where no entry exists (`cache.add`): a
lookup that read the row just before a revocation cannot put the revoked key back.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.core.cache import cache, caches
from django.core.cache.backends.redis import RedisCache, RedisSerializer
from django.db import transaction
from django.utils import timezone
from redis.exceptions import RedisError

from accounts.auth import MAX_KEY_LENGTH, AuthError, authenticate_key
from accounts.models import KEY_PREFIXES, LAST_USED_RESOLUTION, ApiKey, hash_key
from core.context import bind_principal
from events.hub import get_hub

logger = logging.getLogger(__name__)

KEY_CACHE_SECONDS = 60
# Left in place of a changed key's entry: lookups go to the database until it expires.
FORGOTTEN = "forgotten"
# How Django's Redis cache stores values (integers as is, anything else pickled).
_SERIALIZER = RedisSerializer()


def _cache_key(key_hash: str) -> str:
    return f"stream-api-key:{key_hash}"


def authenticate_stream_key(raw_key: str) -> ApiKey:
    """The usable key matching `raw_key`, from the cache when it can be; raises AuthError otherwise."""
    if not raw_key.startswith(KEY_PREFIXES) or len(raw_key) > MAX_KEY_LENGTH:
        return authenticate_key(raw_key)  # refuses it, with the usual message
    entry = _cache_key(hash_key(raw_key))
    try:
        cached: ApiKey | str | None = cache.get(entry)
    except Exception:
        # Redis away: the database still answers (the rate limit fails open the same way).
        logger.warning("API key cache unavailable", exc_info=True)
        return authenticate_key(raw_key)
    if not isinstance(cached, ApiKey):
        key = authenticate_key(raw_key)
        if cached is None:
            _store(entry, key, only_if_absent=True)
        return key
    key = cached
    if _expired(key):
        raise AuthError("api_key_expired", "The API key has expired.")
    last_used = key.last_used_at
    key.touch()
    if key.last_used_at != last_used:
        _store(entry, key)
    bind_principal(org=key.organization_id, key_prefix=key.prefix)
    return key


async def cached_stream_key(raw_key: str) -> ApiKey | None:
    """The key matching `raw_key` when its cached entry settles it, read on the event loop.

    None whenever `authenticate_stream_key` has more to do than read the entry (no entry or
    a FORGOTTEN one, an expired key to refuse, a `last_used_at` due to be written, Redis
    away): the caller then runs that, on a thread, and it decides as always.
    """
    if not raw_key.startswith(KEY_PREFIXES) or len(raw_key) > MAX_KEY_LENGTH:
        return None
    # Read with this event loop's Redis client, when Django's cache is that Redis.
    backend = _cache_backend()
    if not isinstance(backend, RedisCache) or getattr(backend, "_servers", None) != [settings.REDIS_URL]:
        return None
    try:
        data = await get_hub().slots.client.get(shared_cache_key(_cache_key(hash_key(raw_key))))
    except (RedisError, OSError):
        return None
    if data is None:
        return None
    key = _SERIALIZER.loads(data)
    if not isinstance(key, ApiKey) or _expired(key) or _touch_due(key):
        return None
    bind_principal(org=key.organization_id, key_prefix=key.prefix)
    return key


def shared_cache_key(name: str) -> str:
    """The Redis name Django's cache gives its entry `name` (its prefix and version added)."""
    return str(_cache_backend().make_key(name))


_backend: tuple[object, Any] | None = None


def _cache_backend() -> Any:
    # Django builds a cache object per async context: one per open stream, kept as long as
    # the stream. Reading names needs none of that, so one is kept (per CACHES setting).
    global _backend
    params = settings.CACHES["default"]
    if _backend is None or _backend[0] is not params:
        _backend = (params, caches.create_connection("default"))
    return _backend[1]


def _expired(key: ApiKey) -> bool:
    return key.expires_at is not None and key.expires_at <= timezone.now()


def _touch_due(key: ApiKey) -> bool:
    """Whether `ApiKey.touch` would write `last_used_at` now."""
    return key.last_used_at is None or timezone.now() - key.last_used_at >= LAST_USED_RESOLUTION


def _store(entry: str, key: ApiKey, *, only_if_absent: bool = False) -> None:
    try:
        if only_if_absent:
            cache.add(entry, key, KEY_CACHE_SECONDS)
        elif cache.get(entry) != FORGOTTEN:
            cache.set(entry, key, KEY_CACHE_SECONDS)
    except Exception:
        logger.warning("API key cache unavailable", exc_info=True)


def forget_key(sender: Any, instance: ApiKey, **kwargs: Any) -> None:
    """Drop a key's cached entry when its row changes (a `post_save`/`post_delete` receiver).

    Once now and once more after the change commits, each time leaving the FORGOTTEN marker
    that keeps a lookup racing the change from caching the row as it was before.
    """
    if kwargs.get("created"):
        return  # a new key has never been looked up: nothing to forget
    entry = _cache_key(instance.key_hash)
    _forget(entry)
    transaction.on_commit(lambda: _forget(entry))


def _forget(entry: str) -> None:
    try:
        cache.set(entry, FORGOTTEN, KEY_CACHE_SECONDS)
    except Exception:
        # The entry still expires within KEY_CACHE_SECONDS, and the hub's tick closes the
        # streams of a revoked key meanwhile.
        logger.warning("Could not drop a cached API key", exc_info=True)
