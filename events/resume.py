"""Where a (re)connecting stream starts: the `Last-Event-ID` rules of the contract."""

from __future__ import annotations

from dataclasses import dataclass

from django.http import HttpRequest

MAX_EVENT_ID = 2**63 - 1


class BadLastEventId(ValueError):
    """The client's Last-Event-ID is not an integer: answered with 400."""


def last_event_id_of(request: HttpRequest) -> int | None:
    """The `Last-Event-ID` header, else the `last_event_id` query parameter, as an integer."""
    raw = request.headers.get("Last-Event-ID")
    if raw is None or raw.strip() == "":
        raw = request.GET.get("last_event_id")
    if raw is None or raw.strip() == "":
        return None
    text = raw.strip()
    # isascii(): isdigit() also accepts "²" or "١", which int() refuses or reads as a number.
    if not (text.isascii() and text.isdigit()) or len(text) > 19 or int(text) > MAX_EVENT_ID:
        raise BadLastEventId(f"Last-Event-ID must be a non-negative integer, got {raw[:40]!r}.")
    return int(text)


@dataclass(frozen=True)
class ResumePlan:
    """`after_id`: replay stored events with a larger id (None: live events only).

    `reset_reason` is set when the client's position cannot be trusted, in which case
    a `stream.reset` goes first and the replay starts from the oldest retained event.
    """

    after_id: int | None
    reset_reason: str | None = None


def plan_resume(
    last_event_id: int | None,
    *,
    replay_history: bool,
    newest_id: int,
    pruned_through_id: int,
) -> ResumePlan:
    """Decide the replay for a stream.

    `replay_history`: feeds of finite work (a job, a batch) replay their whole history
    to a fresh client; open-ended feeds start live. `newest_id` is the newest id the
    caller's organisation has stored (never the global one, which would reveal other
    tenants' activity) and `pruned_through_id` the newest id retention has removed.
    """
    if last_event_id is None:
        return ResumePlan(after_id=0 if replay_history else None)
    if last_event_id > newest_id:
        return ResumePlan(after_id=0, reset_reason="last_event_id_unknown")
    if last_event_id < pruned_through_id:
        return ResumePlan(after_id=0, reset_reason="last_event_id_too_old")
    return ResumePlan(after_id=last_event_id)
