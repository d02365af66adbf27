"""Event-type patterns of a subscription: exact names, or `*` wildcards (`processing.*`, `*`)."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable

from events.catalogue import EVENT_FEEDS

PATTERN = re.compile(r"^[A-Za-z0-9_.\-*]{1,64}\Z")


@functools.lru_cache(maxsize=1024)
def _compiled(patterns: tuple[str, ...]) -> re.Pattern[str]:
    alternatives = (
        "".join(".*" if part == "*" else re.escape(part) for part in re.split(r"(\*)", p)) for p in patterns
    )
    return re.compile("^(?:" + "|".join(alternatives) + r")\Z")


def matches(patterns: Iterable[str], event_type: str) -> bool:
    """Whether `event_type` is one of the subscription's types."""
    found = tuple(patterns)
    return bool(found) and _compiled(found).match(event_type) is not None


def pattern_problem(pattern: str) -> str | None:
    """Why a pattern is refused, or None: it must be well formed and name some catalogue event."""
    if not PATTERN.match(pattern):
        return f"{pattern!r} is not an event type: letters, digits, '.', '_', '-' and '*' only."
    if not any(matches((pattern,), name) for name in EVENT_FEEDS):
        return f"{pattern!r} matches no event type."
    return None
