"""The deal page shows the deal's data warnings, and says when nothing could be read."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.test import Client

from accounts.models import Organization
from deals import services
from deals.models import Deal
from tests.deals.test_api_statement_quality import unreconciled_csv

pytestmark = pytest.mark.django_db


def process(org: Organization, deal: Deal, name: str, content: bytes, capture: Any) -> None:
    with capture(execute=True):
        services.add_statements(
            org, deal.pk, [services.Document(name, io.BytesIO(content), len(content))], created_by="t"
        )


def test_it_lists_the_warnings_of_the_deal(
    underwriter_client: Client, org: Organization, deal: Deal, django_capture_on_commit_callbacks: Any
):
    process(org, deal, "march.csv", unreconciled_csv(), django_capture_on_commit_callbacks)
    page = underwriter_client.get(f"/deals/{deal.pk}").content.decode()
    assert 'data-warning="reconciliation_failed"' in page
    assert "Balances do not add up:" in page
    assert "do not add up" in page


def test_it_says_the_deal_waits_for_documents_when_nothing_could_be_read(
    underwriter_client: Client, org: Organization, deal: Deal, django_capture_on_commit_callbacks: Any
):
    process(
        org,
        deal,
        "scan.png",
        b"Scanned copy of the statement to follow by post\n",
        django_capture_on_commit_callbacks,
    )
    page = underwriter_client.get(f"/deals/{deal.pk}").content.decode()
    assert 'id="waits-for-documents"' in page
    assert 'id="proposal"' not in page
    assert "decision-form" not in page
    assert "waits for documents before a decision" in page
