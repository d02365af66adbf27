"""The deal page, decision first: score, proposal, warnings, amount against revenue, charts,
monthly breakdown and statement details, rendered by the server for a known statement."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import Organization
from deals import services
from deals.models import Deal, DealStatus, ProposedChange
from tests.dashboard import known_statement as known
from tests.dashboard.conftest import upload_document as _upload
from tests.jobs.factories import bad_file

pytestmark = pytest.mark.django_db


def _page(client: Client, deal: Deal) -> str:
    response = client.get(reverse("deal-detail", args=[deal.pk]))
    assert response.status_code == 200
    return response.content.decode()


def _cell(html: str, month: str, field: str) -> str:
    row = re.search(rf'<tr data-month="{month}">(.*?)</tr>', html, re.S)
    assert row is not None, month
    cell = re.search(rf'data-field="{field}">([^<]*)<', row.group(1))
    assert cell is not None, field
    return cell.group(1).strip()


def _money(value: str) -> str:
    return f"{Decimal(value):,.2f}"


def test_it_shows_the_monthly_breakdown_of_a_known_statement(
    underwriter_client: Client, known_deal: Deal
) -> None:
    html = _page(underwriter_client, known_deal)
    for month, expected in known.MONTHS.items():
        for field in ("revenue", "average_daily_balance", "ending_balance", "lender_repayments"):
            assert _cell(html, month, field) == _money(str(expected[field])), (month, field)
        for field in ("revenue_count", "nsf_items", "negative_days"):
            assert _cell(html, month, field) == str(expected[field]), (month, field)


def test_it_draws_the_charts_with_their_values_and_text_alternatives(
    underwriter_client: Client, known_deal: Deal
) -> None:
    html = _page(underwriter_client, known_deal)
    assert f'data-days="{known.DAYS}"' in html
    assert f'data-negative-days="{known.NEGATIVE_DAYS}"' in html
    assert f'data-low="{known.LOWEST}"' in html
    assert f'data-high="{known.HIGHEST}"' in html
    assert html.count('class="chart__negative"') == known.NEGATIVE_DAYS
    for month, expected in known.MONTHS.items():
        # One group per chart: deposits and withdrawals, then revenue and lender repayments.
        flow, revenue = re.findall(rf'<g data-month="{month}">(.*?)</g>', html, re.S)
        assert f'data-series="deposits" data-value="{expected["deposits"]}"' in flow
        assert f'data-series="withdrawals" data-value="{expected["withdrawals"]}"' in flow
        assert f'data-series="revenue" data-value="{expected["revenue"]}"' in revenue
        assert f'data-series="lender_repayments" data-value="{expected["lender_repayments"]}"' in revenue
    # Every chart is an image with a name, and has a table of its values.
    assert html.count('role="img"') == 3
    assert html.count("data-chart-table=") == 3
    assert 'data-date="2024-01-11"' in html


def test_it_relates_the_amount_requested_to_monthly_revenue(
    underwriter_client: Client, known_deal: Deal
) -> None:
    html = _page(underwriter_client, known_deal)
    assert f'data-value="{known.MONTHLY_REVENUE}"' in html
    assert f'id="requested-ratio" data-value="{known.REQUESTED_RATIO}"' in html
    assert f"{known.REQUESTED_RATIO} × monthly revenue" in html


def test_it_lists_each_statement_with_masked_account_and_balances(
    underwriter_client: Client, known_deal: Deal
) -> None:
    html = _page(underwriter_client, known_deal)
    details = html[html.index('id="statement-details"') :]
    assert "•••• 6789" in details
    assert known.ACCOUNT not in html
    assert "1,000.00" in details  # opening: 4,000 after a 3,000 deposit
    assert "3,465.00" in details
    assert 'data-field="transaction_count">10<' in details
    assert "2 Jan 2024 – 28 Feb 2024" in details
    assert 'data-field="reconciliation" data-status="passed"' in details


def test_it_puts_the_decision_above_the_statements(underwriter_client: Client, known_deal: Deal) -> None:
    html = _page(underwriter_client, known_deal)
    assert (
        html.index('id="decision-title"')
        < html.index('id="charts-title"')
        < html.index('id="statements-title"')
    )


def test_it_names_the_outcome_on_the_proposal_button(
    underwriter_client: Client, known_deal: Deal, reviewed_deal: Deal
) -> None:
    proposal = known_deal.open_proposal
    assert proposal is not None
    decision = proposal.proposed["decision"]
    html = _page(underwriter_client, known_deal)
    expected = "Approve as suggested" if decision == "approved" else "Decline as suggested"
    other = "Decline as suggested" if decision == "approved" else "Approve as suggested"
    assert expected in html
    assert other not in html
    assert "Approve suggestion" not in html
    # The steady healthy deal is proposed for approval, and its button says so.
    healthy = _page(underwriter_client, reviewed_deal)
    assert reviewed_deal.open_proposal is not None
    assert reviewed_deal.open_proposal.proposed["decision"] == "approved"
    assert "Approve as suggested" in healthy


def test_it_never_labels_a_declined_suggestion_approve(
    underwriter_client: Client, reviewed_deal: Deal
) -> None:
    proposal = reviewed_deal.open_proposal
    assert proposal is not None
    ProposedChange.objects.filter(pk=proposal.pk).update(
        proposed={**proposal.proposed, "decision": "declined"}
    )
    html = _page(underwriter_client, reviewed_deal)
    assert "Decline as suggested" in html
    assert "Approve as suggested" not in html


def test_it_warns_when_an_approval_is_suggested_despite_flags(
    underwriter_client: Client, known_deal: Deal
) -> None:
    proposal = known_deal.open_proposal
    assert proposal is not None
    assert known_deal.flags
    ProposedChange.objects.filter(pk=proposal.pk).update(
        proposed={**proposal.proposed, "decision": "approved"}
    )
    html = _page(underwriter_client, known_deal)
    assert 'id="approve-with-flags"' in html
    assert "Approve as suggested" in html


def test_it_offers_no_proposal_or_decision_without_a_readable_statement(
    org: Organization, underwriter_client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    deal = services.create_deal(org, business_name="Blank Co", created_by="test")
    deal = _upload(org, deal, "photo.png", bad_file(), django_capture_on_commit_callbacks)
    assert deal.status == DealStatus.UNDER_REVIEW
    assert deal.health_score is None
    html = _page(underwriter_client, deal)
    for text in ("as suggested", "Record decision", "Reject suggestion", 'id="proposal"', 'id="deal-charts"'):
        assert text not in html
    assert 'id="waits-for-documents"' in html


def test_it_serves_the_same_blocks_in_the_live_fragment(underwriter_client: Client, known_deal: Deal) -> None:
    response = underwriter_client.get(reverse("deal-review", args=[known_deal.pk]))
    html = response.content.decode()
    assert response.status_code == 200
    for block in ('id="deal-charts"', 'id="deal-scorecard"', 'id="statement-details"'):
        assert block in html
