"""The quality gate against real processes (web + Celery worker, PostgreSQL, Redis).

A statement whose balances do not add up finishes with its warning in `processing.completed` and
in `GET /api/v1/deals/{id}`, and is not proposed for approval; a deal whose only upload cannot be
read gets no proposal at all.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.deals.test_api_statement_quality import unreconciled_csv
from tests.e2e.stack import Stack, distributed_stack
from tests.e2e.test_underwriting_flow import poll_events

pytestmark = pytest.mark.e2e

STACK_ENV = {"RATE_LIMIT_PER_MINUTE": "100000"}


@pytest.fixture
def stack_url() -> Iterator[tuple[Stack, str]]:
    with distributed_stack(**STACK_ENV) as stack:
        base_url = stack.start_web("uvicorn")
        stack.start_worker(concurrency=1)
        yield stack, base_url


def under_review(events: list[dict[str, Any]]) -> bool:
    return any(
        e["type"] == "deal.status_changed" and e["data"]["new_status"] == "under_review" for e in events
    )


def new_deal(client: httpx.Client, name: str) -> int:
    created = client.post("/api/v1/deals", json={"business_name": name})
    assert created.status_code == 201, created.text
    return int(created.json()["id"])


def upload(client: httpx.Client, deal_id: int, name: str, content: bytes) -> dict[str, Any]:
    response = client.post(f"/api/v1/deals/{deal_id}/statements", files={"file": (name, content)})
    assert response.status_code == 202, response.text
    return dict(response.json())


def run_flow(stack: Stack, base_url: str) -> None:
    key = stack.create_key("Quality gate E2E")
    with httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {key}"}, timeout=30) as client:
        # 1. Balances that do not add up.
        deal_id = new_deal(client, "Mismatch Bakery")
        accepted = upload(client, deal_id, "march.csv", unreconciled_csv())
        events = poll_events(
            client,
            deal_id,
            lambda found: under_review(found) and any(e["type"] == "proposed_change" for e in found),
        )
        completed = next(e["data"] for e in events if e["type"] == "processing.completed")
        assert completed["statement_id"] == accepted["statement_id"]
        assert completed["reconciliation"]["status"] == "failed"
        assert completed["reconciliation"]["difference"] == "-250.00"
        assert [w["code"] for w in completed["warnings"]] == ["reconciliation_failed"]

        deal = client.get(f"/api/v1/deals/{deal_id}").json()
        assert [w["code"] for w in deal["warnings"]] == ["reconciliation_failed"]
        assert deal["warnings"][0]["evidence"]["statement_id"] == accepted["statement_id"]
        assert deal["statements"][0]["reconciliation"]["status"] == "failed"
        proposal = next(e["data"] for e in events if e["type"] == "proposed_change")
        assert proposal["proposed"] == {"decision": "declined"}
        assert "do not add up" in proposal["explanation"]
        assert [w["code"] for w in proposal["warnings"]] == ["reconciliation_failed"]
        assert deal["proposal"]["change_id"] == proposal["change_id"]

        # 2. Nothing readable: the deal waits for documents, with no proposal.
        empty_id = new_deal(client, "Blurry Photo Ltd")
        upload(client, empty_id, "scan.png", b"Scanned copy of the statement to follow by post\n")
        events = poll_events(client, empty_id, under_review)
        assert [e["data"]["error"] for e in events if e["type"] == "processing.failed"] == [
            "Unsupported file format"
        ]
        # The proposal would be published in the same transaction as the move to review.
        assert [e for e in events if e["type"] == "proposed_change"] == []
        deal = client.get(f"/api/v1/deals/{empty_id}").json()
        assert deal["status"] == "under_review"
        assert deal["proposal"] is None
        assert deal["health_score"] is None
        assert deal["recommendation"] == ""


@pytest.mark.timeout(90)
def test_the_quality_gate_holds_end_to_end(stack_url: tuple[Stack, str]) -> None:
    stack, base_url = stack_url
    try:
        run_flow(stack, base_url)
    except BaseException:
        print(stack.logs()[-20000:])
        raise
