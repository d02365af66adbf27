"""A deal underwritten over HTTP against real processes, distributed and embedded.

Three statements of different formats and one bad file are uploaded; the events are read back
from `GET /api/v1/events/log` until the deal is under review; the proposal is approved.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import AbstractContextManager
from typing import Any

import httpx
import pytest

from tests.e2e.stack import Stack, distributed_stack, embedded_stack
from tests.jobs.factories import STAGE_EVENTS, statement_files

pytestmark = pytest.mark.e2e

# Each stage boundary sleeps this long in the worker (test-only, see deals/pipeline.py), so
# the four uploads are all in before the first statement finishes: one review, not several.
STAGE_DELAY = "0.4"
STACK_ENV = {"RATE_LIMIT_PER_MINUTE": "100000", "DEALSTREAM_TEST_STAGE_DELAY_SECONDS": STAGE_DELAY}


def poll_events(client: httpx.Client, deal_id: int, done: Any, timeout: float = 40) -> list[dict[str, Any]]:
    """Read the deal's stored events until `done(events)` holds."""
    found: list[dict[str, Any]] = []
    after = 0
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        response = client.get("/api/v1/events/log", params={"deal_id": deal_id, "after": after, "limit": 500})
        assert response.status_code == 200, response.text
        page = response.json()["results"]
        found.extend(page)
        if page:
            after = page[-1]["id"]
        if done(found):
            return found
        time.sleep(0.2)
    raise AssertionError(f"Timed out; events so far: {[e['type'] for e in found]}")


def reviewed(events: list[dict[str, Any]]) -> bool:
    return any(
        e["type"] == "deal.status_changed" and e["data"]["new_status"] == "under_review" for e in events
    ) and any(e["type"] == "proposed_change" for e in events)


def run_flow(stack: Stack, base_url: str) -> None:
    key = stack.create_key("Underwriting E2E")
    with httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {key}"}, timeout=30) as client:
        created = client.post(
            "/api/v1/deals", json={"business_name": "Bolt Logistics", "amount_requested": 25000}
        )
        assert created.status_code == 201, created.text
        deal_id = created.json()["id"]

        accepted = []
        for name, content in statement_files():
            response = client.post(f"/api/v1/deals/{deal_id}/statements", files={"file": (name, content)})
            assert response.status_code == 202, response.text
            accepted.append(response.json())

        events = poll_events(client, deal_id, reviewed)
        by_statement: dict[int, list[tuple[str, Any, Any]]] = {}
        for event in events:
            if event["type"].startswith("processing."):
                data = event["data"]
                by_statement.setdefault(data["statement_id"], []).append(
                    (event["type"], data.get("stage"), data.get("progress"))
                )
        for item in accepted[:3]:
            assert by_statement[item["statement_id"]] == STAGE_EVENTS
        bad = accepted[3]["statement_id"]
        assert by_statement[bad] == [
            ("processing.started", "extracting_text", 0),
            ("processing.failed", None, None),
        ]
        failure = next(e for e in events if e["type"] == "processing.failed")
        assert failure["data"]["error"] == "Unsupported file format"

        transitions = [
            (e["data"]["old_status"], e["data"]["new_status"])
            for e in events
            if e["type"] == "deal.status_changed"
        ]
        assert transitions == [("new", "processing"), ("processing", "under_review")]
        review_id = next(
            e["id"]
            for e in events
            if e["type"] == "deal.status_changed" and e["data"]["new_status"] == "under_review"
        )
        assert review_id > max(e["id"] for e in events if e["type"].startswith("processing."))
        proposals = [e for e in events if e["type"] == "proposed_change"]
        assert len(proposals) == 1
        change = proposals[0]["data"]
        assert change["operation"] == "set_decision"
        assert change["proposed"]["decision"] in {"approved", "declined"}
        assert change["explanation"]

        for item in accepted:
            job = client.get(f"/api/v1/jobs/{item['job_id']}").json()
            assert job["status"] == ("failed" if item is accepted[3] else "completed")

        deal = client.get(f"/api/v1/deals/{deal_id}").json()
        assert deal["status"] == "under_review"
        assert deal["health_score"] is not None
        assert deal["proposal"]["change_id"] == change["change_id"]

        approved = client.post(f"/api/v1/changes/{change['change_id']}/approve")
        assert approved.status_code == 200, approved.text
        after_id = events[-1]["id"]
        decided = poll_events(
            client,
            deal_id,
            lambda found: any(e["type"] == "deal.decision" and e["id"] > after_id for e in found),
        )
        decision = next(e for e in decided if e["type"] == "deal.decision")
        assert decision["data"]["decision"] == change["proposed"]["decision"]
        assert decision["data"]["decided_by"] == "api_key:default"
        assert client.get(f"/api/v1/deals/{deal_id}").json()["status"] == change["proposed"]["decision"]


@pytest.fixture(params=["distributed", "embedded"])
def stack_and_url(request: pytest.FixtureRequest) -> Iterator[tuple[Stack, str]]:
    factory: AbstractContextManager[Stack] = (
        distributed_stack(**STACK_ENV) if request.param == "distributed" else embedded_stack(**STACK_ENV)
    )
    with factory as stack:
        base_url = stack.start_web("uvicorn")
        if request.param == "distributed":
            stack.start_worker(concurrency=2)
        yield stack, base_url


@pytest.mark.timeout(90)
def test_a_deal_is_underwritten_end_to_end(stack_and_url: tuple[Stack, str]) -> None:
    stack, base_url = stack_and_url
    try:
        run_flow(stack, base_url)
    except BaseException:
        print(stack.logs()[-20000:])
        raise
