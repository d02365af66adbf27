from __future__ import annotations

import pytest

from events.filters import matches, pattern_problem


@pytest.mark.parametrize(
    ("patterns", "event_type", "expected"),
    [
        (["processing.*"], "processing.progress", True),
        (["processing.*"], "processing", False),
        (["processing.*"], "deal.created", False),
        (["deal.decision"], "deal.decision", True),
        (["deal.decision"], "deal.decisions", False),
        (["*"], "usage", True),
        (["deal.*", "batch.completed"], "batch.completed", True),
        (["deal.c*d"], "deal.created", True),
        (["deal.created"], "dealXcreated", False),  # the dot is not a wildcard
        ([], "deal.created", False),
    ],
)
def test_it_matches_names_and_wildcards(patterns: list[str], event_type: str, expected: bool) -> None:
    assert matches(patterns, event_type) is expected


def test_it_explains_refused_patterns() -> None:
    assert pattern_problem("processing.*") is None
    assert pattern_problem("webhook.endpoint_disabled") is None
    assert "matches no event type" in (pattern_problem("invoice.*") or "")
    assert "is not an event type" in (pattern_problem("deal created") or "")
