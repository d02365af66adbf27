"""channels_redis's pub/sub layer, with a reader that survives idle timeouts and restarts itself.

The stock reader task treats `TimeoutError` as a cancellation and exits, after which
every subscriber of the process goes quiet with no error. Here the reader logs what
happened and carries on, and socket timeouts sit well above the layer's polling wait.
Once the reader is back after losing Redis it tells the layer's reconnect listeners (the
hub), which read what was published meanwhile from the event store.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from channels_redis import pubsub
from redis import exceptions as redis_errors

logger = logging.getLogger(__name__)

# redis-py's read timeout must exceed the reader's 0.1 s polling wait by a wide margin.
SOCKET_TIMEOUT_SECONDS = 30.0


class ResilientShardConnection(pubsub.RedisSingleShardConnection):
    async def _do_receiving(self) -> None:
        lost = False
        while True:
            try:
                if self._pubsub and self._pubsub.subscribed:
                    message = await self._pubsub.get_message(ignore_subscribe_messages=True, timeout=0.1)
                    if lost:
                        # A read succeeded: redis-py reconnected and resubscribed before it.
                        lost = False
                        logger.warning("Redis pub/sub reader reconnected")
                        self.channel_layer.reconnected()
                    self._receive_message(message)
                else:
                    await asyncio.sleep(0.1)
            except asyncio.CancelledError:
                raise
            except (
                TimeoutError,
                ConnectionError,
                OSError,
                redis_errors.ConnectionError,
                redis_errors.TimeoutError,
            ) as exc:
                # redis-py reconnects and resubscribes on the next read; events
                # published meanwhile are recovered from the store by the hub.
                if not lost:
                    logger.warning("Redis pub/sub reader: %r; reconnecting", exc)
                lost = True
                await asyncio.sleep(0.2)
            except Exception:
                logger.exception("Redis pub/sub reader failed; restarting it")
                await asyncio.sleep(1)


class ResilientLoopLayer(pubsub.RedisPubSubLoopLayer):
    def __init__(self, hosts: Any = None, *args: Any, **kwargs: Any) -> None:
        super().__init__(hosts, *args, **kwargs)
        self.reconnect_listeners: list[Callable[[], None]] = []
        self._shards = [ResilientShardConnection(host, self) for host in pubsub.decode_hosts(hosts)]
        for shard in self._shards:
            if isinstance(shard.host, dict):
                shard.host.setdefault("socket_timeout", SOCKET_TIMEOUT_SECONDS)
                shard.host.setdefault("socket_keepalive", True)
                shard.host.setdefault("health_check_interval", 15)

    def reconnected(self) -> None:
        for listener in self.reconnect_listeners:
            try:
                listener()
            except Exception:
                logger.exception("A reconnect listener failed")


class RedisPubSubChannelLayer(pubsub.RedisPubSubChannelLayer):
    """Drop-in replacement for `channels_redis.pubsub.RedisPubSubChannelLayer`."""

    def on_reconnect(self, listener: Callable[[], None]) -> None:
        """Call `listener` on this event loop each time its subscription is back after losing Redis."""
        self._get_layer().reconnect_listeners.append(listener)

    def _get_layer(self) -> ResilientLoopLayer:
        loop = asyncio.get_running_loop()
        try:
            return self._layers[loop]
        except KeyError:
            layer = ResilientLoopLayer(*self._args, **self._kwargs, channel_layer=self)
            self._layers[loop] = layer
            pubsub._wrap_close(self, loop)
            return layer
