"""Event-type filters of the feeds and the event log: `?types=processing.*,deal.decision`.

A filter is parsed once against the event catalogue into the concrete set of types it
selects, so replay is one `type IN (...)` condition and live delivery one set lookup.
Ids stay the global ones: a filtered stream resumed with `Last-Event-ID` continues after
that id exactly as an unfiltered one does, it only sends fewer of the events it passes.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from typing import Any, TypeVar

from django.db.models import QuerySet
from django.http import HttpRequest

from events.catalogue import EVENT_FEEDS
from events.hub import Delivery, Subscriber

TYPES_PARAM = "types"
_Events = TypeVar("_Events", bound=QuerySet[Any])
# A filter is a short list written by hand; anything longer is a mistake or an attack.
MAX_PATTERNS = 50
MAX_LENGTH = 1000
# What a pattern may contain: an event name, with `*` standing for any run of characters.
_PATTERN = re.compile(r"^[A-Za-z*][A-Za-z0-9_.\-*]{0,63}\Z")


class BadTypes(ValueError):
    """The `types` filter is malformed or names no known event type: answered with 400."""


def parse_types(values: Iterable[str]) -> frozenset[str] | None:
    """The event types selected by `types` values (each comma-separated), or None for all.

    `*` matches any run of characters (`processing.*`, `*.completed`, `*`). Every
    pattern must match at least one type of the catalogue, so a typo is a 400 instead of
    a stream that stays silent for ever.
    """
    raw = list(values)
    if not raw:
        return None
    if sum(len(value) for value in raw) > MAX_LENGTH:
        raise BadTypes(f"types= is longer than {MAX_LENGTH} characters.")
    patterns = [part.strip() for value in raw for part in value.split(",") if part.strip()]
    if not patterns:
        raise BadTypes("types= names no event type; leave it out to receive every event.")
    if len(patterns) > MAX_PATTERNS:
        raise BadTypes(f"types= has more than {MAX_PATTERNS} patterns.")
    selected: set[str] = set()
    for pattern in patterns:
        problem = pattern_problem(pattern)
        if problem:
            raise BadTypes(problem)
        selected |= {name for name in EVENT_FEEDS if _matches(pattern, name)}
    return frozenset(selected)


def pattern_problem(pattern: str) -> str | None:
    """Why a pattern is refused, or None: it must be well formed and match some catalogue event."""
    if not _PATTERN.match(pattern):
        return f"{pattern[:70]!r} is not an event type or a pattern such as 'processing.*'."
    if not any(_matches(pattern, name) for name in EVENT_FEEDS):
        return f"{pattern!r} matches no event type."
    return None


def matches(patterns: Iterable[str], event_type: str) -> bool:
    """Whether `event_type` is selected by any of `patterns` (a stored subscription's list)."""
    return any(_matches(pattern, event_type) for pattern in patterns)


@functools.lru_cache(maxsize=1024)
def _matches(pattern: str, name: str) -> bool:
    if "*" not in pattern:
        return pattern == name
    regex = ".*".join(re.escape(part) for part in pattern.split("*"))
    return re.fullmatch(regex, name) is not None


def types_of(request: HttpRequest) -> frozenset[str] | None:
    """The request's `?types=` filter (None: every event); raises BadTypes."""
    return parse_types(request.GET.getlist(TYPES_PARAM))


def with_closing_events(types: frozenset[str] | None, closing: frozenset[str]) -> frozenset[str] | None:
    """A finite feed's filter plus the events after which it closes.

    A job or batch stream ends after its terminal event; a filter that left it out would
    leave the client unable to tell an ended stream from a dropped connection (and
    `EventSource` would reconnect for ever), so the closing event always passes.
    """
    return None if types is None else types | closing


def only_types(events: _Events, types: frozenset[str] | None) -> _Events:
    """`events` narrowed to `types` in SQL (unchanged for None); `(organization, type, id)` is indexed."""
    return events if types is None else events.filter(type__in=sorted(types))


class FilteredSubscriber(Subscriber):
    """A stream's mailbox that only takes the events of its filter.

    Skipped events never enter the queue, so they neither count against the slow-reader
    bound nor as activity: an idle filtered stream still gets its heartbeats.
    """

    __slots__ = ("types",)

    def __init__(self, *args: Any, types: frozenset[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.types = types

    def offer(self, item: Delivery | bytes) -> None:
        if isinstance(item, Delivery) and item.event not in self.types:
            return
        super().offer(item)


def subscriber_for(types: frozenset[str] | None, *args: Any, **kwargs: Any) -> Subscriber:
    """A `Subscriber`, filtered when `types` is given."""
    if types is None:
        return Subscriber(*args, **kwargs)
    return FilteredSubscriber(*args, types=types, **kwargs)
