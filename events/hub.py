"""The per-process hub: one channel-layer subscription per organisation, many local streams.

Each web process subscribes once to the group of every organisation that has a local
listener and hands each event, already encoded, to its local streams in-process, so the
work per event on the channel layer grows with web processes, not with connections.

Events of one organisation carry a gapless sequence number (`seq`). The hub delivers
them strictly in that order: an event that arrives early waits briefly for the ones
before it, and anything the channel layer lost is read back from the event store.
That makes live delivery ordered and lossless whatever the publishers' interleaving.

One module although long: subscribing, reordering, gap filling, the tick's tail checks and
draining all read and write the same per-organisation state (`OrgState.last_seq`, `pending`,
the subscriber buckets) on one event loop; split apart, the invariant that keeps delivery
gapless would be spread over modules that must change together.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import signal
import threading
import time
import weakref
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import close_old_connections
from django.utils import timezone

from core import metrics
from events.encoding import HEARTBEAT
from events.limits import StreamSlots
from events.models import Event, OrgEventSequence
from events.publish import event_message, org_group, register_hub_loop

logger = logging.getLogger(__name__)

# How long an out-of-order event waits for its predecessors before the store is asked.
GAP_WAIT_SECONDS = 0.05
# After subscribing, check the store once more in case the subscription raced a publish.
ACTIVATION_RECHECK_SECONDS = 0.5

_stream_ids = itertools.count(1)


def db_call(fn: Any) -> Any:
    """Run ORM work on the shared thread pool (never a thread per stream) and tidy up after."""

    def wrapped(*args: Any, **kwargs: Any) -> Any:
        close_old_connections()
        try:
            return fn(*args, **kwargs)
        finally:
            close_old_connections()

    return sync_to_async(wrapped, thread_sensitive=False)


@dataclass(frozen=True)
class Delivery:
    id: int
    event: str
    frame: bytes


class Subscriber:
    """One open stream's mailbox: a bounded queue the hub fills and the stream drains."""

    # Thousands are alive at once: slots and a plain list keep each one small.
    __slots__ = (
        "_waiter",
        "api_key_id",
        "closed_reason",
        "expires_at",
        "feed",
        "key",
        "last_activity",
        "max_queued",
        "organization_id",
        "queue",
        "slot",
        "task",
        "user_id",
    )

    def __init__(
        self,
        organization_id: int,
        feed: str,
        key: object = None,
        *,
        api_key_id: int | None = None,
        expires_at: datetime | None = None,
        user_id: int | None = None,
        slot: StreamSlot | None = None,
    ) -> None:
        self.organization_id = organization_id
        self.feed = feed
        self.key = key
        self.api_key_id = api_key_id
        self.expires_at = expires_at
        # The dashboard user of a session stream (None for a key's stream).
        self.user_id = user_id if api_key_id is None else None
        # The stream's slot, taken by the stream edge: the hub renews its lease every tick
        # and, when the process stops, frees all of them in one round trip.
        self.slot = slot
        self.queue: list[Delivery | bytes] = []
        self.max_queued = int(settings.SSE_MAX_QUEUED_EVENTS)
        self.closed_reason: str | None = None
        self.last_activity = time.monotonic()
        self.task: asyncio.Task[Any] | None = None
        # A bare future, not an asyncio.Event: one wake-up per event per stream is the
        # fan-out's hot path, and Event.wait's waiter bookkeeping showed in profiles.
        self._waiter: asyncio.Future[None] | None = None

    @property
    def bucket(self) -> tuple[str, object]:
        return (self.feed, self.key)

    def offer(self, item: Delivery | bytes) -> None:
        if self.closed_reason is not None:
            return
        if len(self.queue) >= self.max_queued:
            # The client stopped reading: drop it rather than grow memory without bound.
            self.close("slow_reader")
            return
        self.queue.append(item)
        self._wake()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def close(self, reason: str) -> None:
        if self.closed_reason is not None:
            return
        self.closed_reason = reason
        metrics.STREAMS_DROPPED.labels(reason).inc()
        self._wake()
        if reason == "slow_reader" and self.task is not None and not self.task.done():
            # The stream is stuck in a socket write; only cancelling its task frees it.
            self.task.cancel()

    async def wait(self) -> list[Delivery | bytes]:
        """Everything queued since the last call, waiting if there is nothing yet."""
        while not self.queue and self.closed_reason is None:
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        items, self.queue = self.queue, []
        self.last_activity = time.monotonic()
        return items


@dataclass
class OrgState:
    organization_id: int
    ready: asyncio.Future[None]
    buckets: dict[tuple[str, object], set[Subscriber]] = field(default_factory=dict)
    last_seq: int = -1  # unknown until activated
    pending: dict[int, dict[str, Any]] = field(default_factory=dict)
    gap_task: asyncio.Task[None] | None = None


class Hub:
    """Fan-out for one event loop (one per web process in production)."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.layer = get_channel_layer()
        self.channel: str | None = None
        self.orgs: dict[int, OrgState] = {}
        self.subscribers: set[Subscriber] = set()
        self.slots = StreamSlots()
        self._started = asyncio.Lock()
        self._tasks: list[asyncio.Task[None]] = []
        # Set once the process is told to stop: every stream ends, and new ones end at once.
        self.draining = False

    # --- lifecycle ---------------------------------------------------------------------------
    async def start(self) -> None:
        async with self._started:
            if self.channel is not None:
                return
            assert self.layer is not None, "CHANNEL_LAYERS is not configured"
            self.channel = await self.layer.new_channel()
            on_reconnect = getattr(self.layer, "on_reconnect", None)
            if on_reconnect is not None:
                on_reconnect(self._after_reconnect)
            self._tasks.append(self.loop.create_task(self._read_forever(), name="hub-reader"))
            self._tasks.append(self.loop.create_task(self._tick_forever(), name="hub-ticker"))
            register_hub_loop(self.loop)
            _drain_hubs_on_sigterm()

    # --- subscriptions -------------------------------------------------------------------------
    async def subscribe(self, subscriber: Subscriber) -> None:
        """Register a stream; returns once every later event of its feed will reach it."""
        await self.start()
        subscriber.task = asyncio.current_task()
        state = self.orgs.get(subscriber.organization_id)
        if state is None:
            state = OrgState(subscriber.organization_id, ready=self.loop.create_future())
            self.orgs[subscriber.organization_id] = state
            self.loop.create_task(self._activate(state))
        await asyncio.shield(state.ready)
        state.buckets.setdefault(subscriber.bucket, set()).add(subscriber)
        self.subscribers.add(subscriber)
        if self.draining:
            # Opened while the process stops: replay what it may, then send the client elsewhere.
            subscriber.close("shutdown")

    def drain(self) -> None:
        """End every open stream so its client reconnects (to another process); see events/sse.py.

        Called when the process is asked to stop: the server waits for open responses
        before it exits, and a stream never ends by itself.
        """
        if not self.draining:
            logger.info("Stopping: ending %d open stream(s)", len(self.subscribers))
        self.draining = True
        subscribers = list(self.subscribers)
        held = _held_slots(subscribers)
        for subscriber in subscribers:
            # Their slots go in one round trip below, not one each as every stream ends:
            # with thousands of streams that alone held the exit for seconds.
            if subscriber.slot is not None:
                subscriber.slot.acquired = False
            subscriber.close("shutdown")
        self._tasks.append(self.loop.create_task(self.slots.release_many(held)))

    def unsubscribe(self, subscriber: Subscriber) -> None:
        if subscriber not in self.subscribers:
            return
        self.subscribers.discard(subscriber)
        state = self.orgs.get(subscriber.organization_id)
        if state is None:
            return
        bucket = state.buckets.get(subscriber.bucket)
        if bucket is not None:
            bucket.discard(subscriber)
            if not bucket:
                del state.buckets[subscriber.bucket]
        if not state.buckets:
            del self.orgs[subscriber.organization_id]
            if state.gap_task is not None:
                state.gap_task.cancel()
            self.loop.create_task(self._deactivate(state.organization_id))

    async def _activate(self, state: OrgState) -> None:
        try:
            assert self.layer is not None
            assert self.channel is not None
            await self.layer.group_add(org_group(state.organization_id), self.channel)
            # Read the committed sequence only once subscribed: everything up to it is
            # in the store (streams replay it), everything after reaches us live.
            committed = await db_call(_committed_seqs)([state.organization_id])
            state.last_seq = committed.get(state.organization_id, 0)
            state.ready.set_result(None)
            self._drain(state)
            self.loop.call_later(ACTIVATION_RECHECK_SECONDS, self._schedule_catch_up, [state.organization_id])
        except BaseException as exc:
            self.orgs.pop(state.organization_id, None)
            if not state.ready.done():
                state.ready.set_exception(exc)
            # Retrieve it so an activation nobody awaited any more is not logged as lost.
            state.ready.exception()
            if not isinstance(exc, Exception):
                raise

    async def _deactivate(self, organization_id: int) -> None:
        if organization_id in self.orgs:  # someone subscribed again meanwhile
            return
        try:
            assert self.layer is not None
            assert self.channel is not None
            await self.layer.group_discard(org_group(organization_id), self.channel)
        except Exception:
            logger.exception("Could not leave the group of organisation %s", organization_id)

    # --- receiving -----------------------------------------------------------------------------
    async def _read_forever(self) -> None:
        assert self.layer is not None
        assert self.channel is not None
        while True:
            try:
                message = await self.layer.receive(self.channel)
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("Hub reader failed; restarting it")
                await asyncio.sleep(0.5)
                continue
            try:
                self.on_message(message)
            except Exception:
                logger.exception("Hub could not dispatch a message")

    def on_message(self, message: dict[str, Any]) -> None:
        state = self.orgs.get(message.get("org", -1))
        if state is None:
            return
        seq = int(message["seq"])
        if state.last_seq >= 0 and seq <= state.last_seq:
            return  # already delivered (or read back from the store)
        state.pending[seq] = message
        if state.ready.done():
            self._drain(state)

    def _drain(self, state: OrgState) -> None:
        for seq in [s for s in state.pending if s <= state.last_seq]:
            del state.pending[seq]
        while state.last_seq + 1 in state.pending:
            state.last_seq += 1
            self._dispatch(state, state.pending.pop(state.last_seq))
        if state.pending and state.gap_task is None:
            state.gap_task = self.loop.create_task(self._fill_gap(state))

    def _dispatch(self, state: OrgState, message: dict[str, Any]) -> None:
        metrics.DELIVERY_LAG.observe(max(0.0, time.time() - float(message["stored_at"])))
        metrics.EVENTS_RECEIVED.labels(message["event"]).inc()
        delivery = Delivery(id=int(message["id"]), event=message["event"], frame=message["frame"])
        targets: list[tuple[str, object]] = []
        if message.get("in_org"):
            targets.append(("org", None))
        if message.get("deal_id") is not None:
            targets.append(("deal", int(message["deal_id"])))
        if message.get("batch_id"):
            targets.append(("batch", message["batch_id"]))
        if message.get("job_id"):
            targets.append(("job", message["job_id"]))
        for bucket in targets:
            for subscriber in list(state.buckets.get(bucket, ())):
                subscriber.offer(delivery)

    async def _fill_gap(self, state: OrgState) -> None:
        """Wait briefly for late arrivals, then read whatever is still missing from the store."""
        try:
            await asyncio.sleep(GAP_WAIT_SECONDS)
            if state.pending and state.organization_id in self.orgs:
                upto = max(state.pending)
                await self._catch_up(state, upto)
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("Filling an event gap for organisation %s failed", state.organization_id)
        finally:
            state.gap_task = None
        if state.pending and state.organization_id in self.orgs:
            state.gap_task = self.loop.create_task(self._fill_gap(state))

    async def _catch_up(self, state: OrgState, upto: int) -> None:
        if upto <= state.last_seq:
            return
        messages = await db_call(_stored_messages)(state.organization_id, state.last_seq, upto)
        for message in messages:
            if message["seq"] > state.last_seq:
                state.pending[message["seq"]] = message
        if state.pending and state.last_seq + 1 not in state.pending:
            # The store has no such event (pruned); skip ahead rather than stall the feed.
            skipped_to = min(state.pending) - 1
            logger.warning(
                "Events %s..%s of organisation %s are missing from the store; skipping them",
                state.last_seq + 1,
                skipped_to,
                state.organization_id,
            )
            state.last_seq = skipped_to
        self._drain(state)

    def _after_reconnect(self) -> None:
        """The subscription is back after an outage: read what it missed from the store now.

        Once more shortly after, in case a publish raced the resubscription; without this the
        missed events would wait for the next heartbeat tick (SSE_HEARTBEAT_SECONDS).
        """
        organization_ids = list(self.orgs)
        self._schedule_catch_up(organization_ids)
        self.loop.call_later(ACTIVATION_RECHECK_SECONDS, self._schedule_catch_up, organization_ids)

    def _schedule_catch_up(self, organization_ids: Iterable[int]) -> None:
        self.loop.create_task(self._check_tails(list(organization_ids)))

    async def _check_tails(self, organization_ids: list[int]) -> None:
        """Deliver committed events whose live message never came (a lost publish)."""
        active = [
            org_id for org_id in organization_ids if org_id in self.orgs and self.orgs[org_id].ready.done()
        ]
        if not active:
            return
        committed = await db_call(_committed_seqs)(active)
        for org_id, seq in committed.items():
            state = self.orgs.get(org_id)
            if state is not None and state.last_seq >= 0 and seq > state.last_seq:
                await self._catch_up(state, seq)

    # --- the heartbeat tick --------------------------------------------------------------------
    async def _tick_forever(self) -> None:
        interval = float(settings.SSE_HEARTBEAT_SECONDS)
        while True:
            await asyncio.sleep(interval)
            try:
                await self.tick(interval)
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("Hub tick failed")

    async def tick(self, interval: float) -> None:
        """Heartbeats for idle streams, credential checks, lease refresh, lost-event recovery."""
        now = time.monotonic()
        for subscriber in list(self.subscribers):
            if now - subscriber.last_activity >= interval * 0.5:
                subscriber.offer(HEARTBEAT)
        await self._rejoin_groups()
        await self._close_revoked()
        await self.slots.refresh(_held_slots(self.subscribers))
        await self._check_tails(list(self.orgs))

    async def _rejoin_groups(self) -> None:
        """Renew group memberships on layers that expire them.

        The in-memory layer (embedded mode) silently drops a group member after
        `group_expiry` (a day by default): an organisation streamed for longer would then
        get its events only from the tail check, a heartbeat late. Re-adding is a dict
        write there; the Redis pub/sub layer has no expiry and is left alone.
        """
        if self.layer is None or self.channel is None or getattr(self.layer, "group_expiry", None) is None:
            return
        for organization_id, state in list(self.orgs.items()):
            if state.ready.done() and not state.ready.exception():
                await self.layer.group_add(org_group(organization_id), self.channel)

    async def _close_revoked(self) -> None:
        """Close the streams of revoked or expired keys, and of users who lost access.

        A session stream's user is checked like a key: deactivated, deleted or no longer
        a member of the stream's organisation, and the stream closes at this tick.
        """
        key_ids = {s.api_key_id for s in self.subscribers if s.api_key_id is not None}
        members = {(s.user_id, s.organization_id) for s in self.subscribers if s.user_id is not None}
        if not key_ids and not members:
            return
        unusable = await db_call(_unusable_keys)(key_ids) if key_ids else set()
        outsiders = await db_call(_users_without_access)(members) if members else set()
        now = timezone.now()
        for subscriber in list(self.subscribers):
            if subscriber.api_key_id in unusable:
                subscriber.close("credentials_revoked")
            elif subscriber.expires_at is not None and subscriber.expires_at <= now:
                subscriber.close("credentials_expired")
            elif (subscriber.user_id, subscriber.organization_id) in outsiders:
                subscriber.close("access_revoked")


# --- store queries (run on the thread pool) -------------------------------------------------


def _committed_seqs(organization_ids: list[int]) -> dict[int, int]:
    rows = OrgEventSequence.objects.filter(organization_id__in=organization_ids).values_list(
        "organization_id", "last_seq"
    )
    return {int(org_id): int(seq) for org_id, seq in rows}


def _stored_messages(organization_id: int, after_seq: int, upto_seq: int) -> list[dict[str, Any]]:
    events = Event.objects.filter(
        organization_id=organization_id, seq__gt=after_seq, seq__lte=upto_seq
    ).order_by("seq")
    return [event_message(event) for event in events]


def _unusable_keys(key_ids: set[int]) -> set[int]:
    """The keys revoked, expired or deleted."""
    from accounts.models import ApiKey

    return key_ids - set(ApiKey.objects.filter(id__in=key_ids).usable().values_list("id", flat=True))


def _users_without_access(members: set[tuple[int, int]]) -> set[tuple[int, int]]:
    """The (user, organisation) pairs whose user is gone, inactive or no longer a member."""
    from accounts.models import Membership

    user_ids = {user_id for user_id, _ in members}
    still = set(
        Membership.objects.filter(user_id__in=user_ids, user__is_active=True).values_list(
            "user_id", "organization_id"
        )
    )
    return members - still


class StreamSlot:
    """One of a key's (or user's) concurrent-stream slots, held by one stream.

    `holder` comes from `events.limits.stream_holder`; None takes no slot. `acquire()` is
    False when the holder is at its limit (answer 429 before any stream byte). A slot
    handed to a hub `Subscriber` has its lease renewed at every tick.
    """

    __slots__ = ("acquired", "holder", "stream_id")

    def __init__(self, holder: str | None) -> None:
        self.holder = holder
        self.stream_id = f"s{next(_stream_ids)}-{id(self):x}"
        self.acquired = False

    async def acquire(self) -> bool:
        if self.holder is None:
            self.acquired = True
        else:
            self.acquired = await get_hub().slots.acquire(self.holder, self.stream_id)
        return self.acquired

    async def release(self) -> None:
        """Give the slot back (once; a no-op if it was not taken or was freed with others)."""
        if self.acquired and self.holder is not None:
            self.acquired = False
            await get_hub().slots.release(self.holder, self.stream_id)


def _held_slots(subscribers: Iterable[Subscriber]) -> list[tuple[str, str]]:
    return [
        (s.slot.holder, s.slot.stream_id)
        for s in subscribers
        if s.slot is not None and s.slot.acquired and s.slot.holder is not None
    ]


# --- one hub per event loop -----------------------------------------------------------------

_hubs: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Hub] = weakref.WeakKeyDictionary()
_sigterm_hooked = False


def _drain_hubs_on_sigterm() -> None:
    """Chain onto the server's SIGTERM handler so every hub drains when the process is stopped.

    uvicorn (and daphne) stop on SIGTERM by waiting for open responses, and an SSE stream
    never ends by itself: without this a deploy hangs until it is SIGKILLed. The server's
    own handler still runs, so it stops accepting connections and exits once the streams
    have ended. Nothing is hooked where no server handles SIGTERM (a test process).
    """
    global _sigterm_hooked
    if _sigterm_hooked or threading.current_thread() is not threading.main_thread():
        return
    previous = signal.getsignal(signal.SIGTERM)
    if not callable(previous):
        return

    def on_sigterm(signum: int, frame: Any) -> None:
        for hub in list(_hubs.values()):
            # A signal handler must not raise: a loop already closed has nothing to drain.
            with contextlib.suppress(RuntimeError):
                hub.loop.call_soon_threadsafe(hub.drain)
        previous(signum, frame)

    signal.signal(signal.SIGTERM, on_sigterm)
    _sigterm_hooked = True


def get_hub() -> Hub:
    loop = asyncio.get_running_loop()
    hub = _hubs.get(loop)
    if hub is None:
        hub = Hub(loop)
        _hubs[loop] = hub
    return hub
