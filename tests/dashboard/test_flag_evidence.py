"""The deal page shows what each flag rests on: the lender and its debits, each NSF item."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.test import Client

from dashboard.presentation import flag_evidence_lines
from deals import services
from deals.models import Deal
from tests.deals.ledger_files import risky_csv


def test_it_writes_one_line_per_lender_and_transaction() -> None:
    detail = {
        "code": "loan_stacking",
        "evidence": {
            "lenders": [
                {
                    "lender": "XYZ FUNDING",
                    "cadence": "weekly",
                    "count": 9,
                    "total": "4500.00",
                    "first_date": "2024-01-01",
                    "last_date": "2024-02-26",
                }
            ]
        },
    }
    assert flag_evidence_lines(detail) == [
        "XYZ FUNDING: weekly, 9 debits, 4,500.00 from 2024-01-01 to 2024-02-26"
    ]
    items = [
        {"date": f"2024-01-{day:02d}", "amount": "-35.00", "description": "NSF FEE"} for day in range(1, 8)
    ]
    lines = flag_evidence_lines({"evidence": {"transaction_count": 7, "transactions": items}})
    assert lines[0] == "2024-01-01 -35.00 NSF FEE"
    assert lines[-1] == "… and 2 more"
    assert len(lines) == 6
    assert flag_evidence_lines({}) == []


@pytest.mark.django_db
def test_the_deal_page_shows_the_evidence(
    underwriter_client: Client, org: Any, deal: Deal, django_capture_on_commit_callbacks: Any
) -> None:
    content = risky_csv()
    with django_capture_on_commit_callbacks(execute=True):
        services.add_statements(
            org,
            deal.pk,
            [services.Document("risky.csv", io.BytesIO(content), len(content))],
            created_by="test",
        )
    page = underwriter_client.get(f"/deals/{deal.pk}").content.decode()
    assert 'class="flag-evidence"' in page
    assert "XYZ FUNDING: weekly, 9 debits, 4,500.00 from 2024-01-01 to 2024-02-26" in page
    assert "2024-01-15 -35.00 NSF FEE RETURNED ITEM CHARGE" in page
