"""channels_redis's pub/sub layer, with a reader that survives idle timeouts and restarts itself.

The stock reader task treats `TimeoutError` as a cancellation and exits, after which
every subscriber of the process goes quiet with no error. Here the reader logs what
happened and carries on, and socket timeouts sit well above the layer's polling wait.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from channels_redis import pubsub

logger = logging.getLogger(__name__)

# redis-py's read timeout must exceed the reader's 0.1 s polling wait by a wide margin.
SOCKET_TIMEOUT_SECONDS = 30.0


class ResilientShardConnection(pubsub.RedisSingleShardConnection):
    async def _do_receiving(self) -> None:
        while True:
            try:
                if self._pubsub and self._pubsub.subscribed:
                    message = await self._pubsub.get_message(ignore_subscribe_messages=True, timeout=0.1)
                    self._receive_message(message)
                else:
                    await asyncio.sleep(0.1)
            except asyncio.CancelledError:
                raise
            except (TimeoutError, ConnectionError, OSError) as exc:
                # redis-py reconnects and resubscribes on the next read; events
                # published meanwhile are recovered from the store by the hub.
                logger.warning("Redis pub/sub reader: %r; reconnecting", exc)
                await asyncio.sleep(0.2)
            except Exception:
                logger.exception("Redis pub/sub reader failed; restarting it")
                await asyncio.sleep(1)


class ResilientLoopLayer(pubsub.RedisPubSubLoopLayer):
    def __init__(self, hosts: Any = None, *args: Any, **kwargs: Any) -> None:
        super().__init__(hosts, *args, **kwargs)
        self._shards = [ResilientShardConnection(host, self) for host in pubsub.decode_hosts(hosts)]
        for shard in self._shards:
            if isinstance(shard.host, dict):
                shard.host.setdefault("socket_timeout", SOCKET_TIMEOUT_SECONDS)
                shard.host.setdefault("socket_keepalive", True)
                shard.host.setdefault("health_check_interval", 15)


class RedisPubSubChannelLayer(pubsub.RedisPubSubChannelLayer):
    """Drop-in replacement for `channels_redis.pubsub.RedisPubSubChannelLayer`."""

    def _get_layer(self) -> ResilientLoopLayer:
        loop = asyncio.get_running_loop()
        try:
            return self._layers[loop]
        except KeyError:
            layer = ResilientLoopLayer(*self._args, **self._kwargs, channel_layer=self)
            self._layers[loop] = layer
            pubsub._wrap_close(self, loop)
            return layer
