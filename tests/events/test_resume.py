"""Where a reconnecting stream starts: Last-Event-ID parsing and the resume plan."""

from __future__ import annotations

import pytest
from django.test import RequestFactory

from events.resume import BadLastEventId, ResumePlan, last_event_id_of, plan_resume

rf = RequestFactory()


def test_no_position_given() -> None:
    assert last_event_id_of(rf.get("/api/v1/events")) is None
    assert last_event_id_of(rf.get("/api/v1/events", headers={"Last-Event-ID": "  "})) is None
    assert last_event_id_of(rf.get("/api/v1/events?last_event_id=")) is None


def test_header_is_read() -> None:
    assert last_event_id_of(rf.get("/api/v1/events", headers={"Last-Event-ID": "42"})) == 42
    assert last_event_id_of(rf.get("/api/v1/events", headers={"Last-Event-ID": " 42 "})) == 42
    assert last_event_id_of(rf.get("/api/v1/events", headers={"Last-Event-ID": "0"})) == 0


def test_query_parameter_is_read_when_there_is_no_header() -> None:
    assert last_event_id_of(rf.get("/api/v1/events?last_event_id=17")) == 17


def test_header_wins_over_query_parameter() -> None:
    request = rf.get("/api/v1/events?last_event_id=17", headers={"Last-Event-ID": "99"})
    assert last_event_id_of(request) == 99


def test_an_empty_header_falls_back_to_the_query_parameter() -> None:
    # EventSource sends the header only once it has seen an id; a page may pass one itself.
    request = rf.get("/api/v1/events?last_event_id=17", headers={"Last-Event-ID": ""})
    assert last_event_id_of(request) == 17


@pytest.mark.parametrize(
    "raw",
    ["abc", "-1", "1.5", "1e3", "0x10", "١٢", "²", "12abc", "9" * 20, str(2**63), "+5", "1 2"],
)
def test_non_integers_are_refused(raw: str) -> None:
    with pytest.raises(BadLastEventId):
        last_event_id_of(rf.get("/api/v1/events", headers={"Last-Event-ID": raw}))
    with pytest.raises(BadLastEventId):
        last_event_id_of(rf.get("/api/v1/events", {"last_event_id": raw}))


def test_largest_bigint_is_accepted() -> None:
    assert last_event_id_of(rf.get("/", headers={"Last-Event-ID": str(2**63 - 1)})) == 2**63 - 1


def plan(last: int | None, *, history: bool = False, newest: int = 100, pruned: int = 0) -> ResumePlan:
    return plan_resume(last, replay_history=history, newest_id=newest, pruned_through_id=pruned)


def test_open_ended_feed_without_position_starts_live() -> None:
    assert plan(None) == ResumePlan(after_id=None)


def test_finite_feed_without_position_replays_everything() -> None:
    assert plan(None, history=True) == ResumePlan(after_id=0)


@pytest.mark.parametrize("history", [False, True])
def test_known_position_resumes_right_after_it(history: bool) -> None:
    assert plan(40, history=history, pruned=10) == ResumePlan(after_id=40)
    assert plan(100, history=history) == ResumePlan(after_id=100)  # the newest event: nothing to replay
    assert plan(10, history=history, pruned=10) == ResumePlan(after_id=10)  # exactly the pruned mark


@pytest.mark.parametrize("history", [False, True])
def test_position_older_than_retention_resets(history: bool) -> None:
    assert plan(9, history=history, pruned=10) == ResumePlan(after_id=0, reset_reason="last_event_id_too_old")
    assert plan(0, history=history, pruned=10).reset_reason == "last_event_id_too_old"


@pytest.mark.parametrize("history", [False, True])
def test_position_newer_than_any_event_resets(history: bool) -> None:
    assert plan(101, history=history) == ResumePlan(after_id=0, reset_reason="last_event_id_unknown")
    assert plan(1, history=history, newest=0).reset_reason == "last_event_id_unknown"
