"""The deal page's transactions: the API's query with filters, search and paging, every flag
opening onto its transactions, revenue corrections and statement removals from the page."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import Organization
from dashboard import deal_page
from deals import services
from deals.models import Deal, Statement, Transaction
from events.models import Event
from tests.dashboard import known_statement as known
from tests.dashboard.conftest import upload_document
from tests.jobs.factories import healthy_csv

pytestmark = pytest.mark.django_db


def _page(client: Client, deal: Deal, **query: str) -> str:
    response = client.get(reverse("deal-detail", args=[deal.pk]), query)
    assert response.status_code == 200
    return response.content.decode()


def _rows(html: str) -> list[int]:
    """The transaction ids the table lists, in order."""
    return [int(found) for found in re.findall(r'<tr data-transaction-id="(\d+)"', html)]


def _ids(deal: Deal, **filters: Any) -> list[int]:
    return list(
        Transaction.objects.filter(deal=deal, **filters)
        .order_by("date", "position")
        .values_list("pk", flat=True)
    )


def test_it_lists_every_transaction_with_its_columns(underwriter_client: Client, known_deal: Deal) -> None:
    html = _page(underwriter_client, known_deal)
    assert _rows(html) == _ids(known_deal)
    assert len(_rows(html)) == len(known.ROWS)
    nsf = Transaction.objects.get(deal=known_deal, description="NSF FEE")
    row = re.search(rf'<tr data-transaction-id="{nsf.pk}".*?</tr>', html, re.S)
    assert row is not None
    for label in ("Date", "Description", "Counterparty", "Amount", "Balance", "Category", "Flags", "Revenue"):
        assert f'data-label="{label}"' in row.group(0)
    assert "-535.00" in row.group(0)  # the balance after the fee
    assert 'href="?flag=nsf#transactions"' in row.group(0)
    assert "10 of 10 transactions" in html


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"category": "card_settlement"}, {"category": "card_settlement"}),
        ({"revenue": "counted"}, {"counted_as_revenue": True}),
        ({"revenue": "not_counted"}, {"counted_as_revenue": False}),
        ({"category": "lender_repayment"}, {"category": "lender_repayment"}),
        ({"flag": "nsf"}, {"flags__contains": ["nsf"]}),
        ({"month": "2024-02"}, {"date__month": 2}),
        ({"q": "stripe"}, {"description__icontains": "STRIPE"}),
        ({"flag": "negative_balance"}, {"balance__lt": 0}),
    ],
)
def test_each_filter_narrows_the_table(
    underwriter_client: Client, known_deal: Deal, query: dict[str, str], expected: dict[str, Any]
) -> None:
    listed = _rows(_page(underwriter_client, known_deal, **query))
    assert listed
    assert listed == _ids(known_deal, **expected)
    assert len(listed) < len(known.ROWS)


def test_it_filters_by_statement(
    org: Organization, underwriter_client: Client, known_deal: Deal, django_capture_on_commit_callbacks: Any
) -> None:
    upload_document(org, known_deal, "march.csv", healthy_csv(), django_capture_on_commit_callbacks)
    first, second = known_deal.statements.order_by("pk")
    html = _page(underwriter_client, known_deal, statement=str(second.pk))
    assert _rows(html) == _ids(known_deal, statement=second)
    assert f'<option value="{first.pk}">harbor.csv</option>' in html


def test_an_unknown_filter_value_is_ignored_not_an_error(
    underwriter_client: Client, known_deal: Deal
) -> None:
    html = _page(underwriter_client, known_deal, flag="bogus", month="2024-13", statement="x")
    assert _rows(html) == _ids(known_deal)


def test_it_pages_on_the_server_and_keeps_the_filters(
    underwriter_client: Client, known_deal: Deal, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(deal_page, "TRANSACTIONS_PER_PAGE", 3)
    everything = _ids(known_deal)
    first = _page(underwriter_client, known_deal)
    assert _rows(first) == everything[:3]
    assert "1–3 of 10 transactions" in first
    assert "Page 1 of 4" in first
    assert 'href="?page=2#transactions"' in first
    assert _rows(_page(underwriter_client, known_deal, page="4")) == everything[9:]
    revenue = _page(underwriter_client, known_deal, revenue="counted", page="2")
    assert _rows(revenue) == _ids(known_deal, counted_as_revenue=True)[3:]
    assert 'href="?revenue=counted&amp;page=1#transactions"' in revenue


def test_every_flag_opens_onto_the_transactions_behind_it(
    underwriter_client: Client, known_deal: Deal
) -> None:
    html = _page(underwriter_client, known_deal)
    flags = known_deal.flags
    assert "nsf" in flags
    assert "negative_balance" in flags
    for code in flags:
        link = re.search(rf'<a href="\?([^"#]*)#transactions" data-flag-transactions="{code}">', html)
        assert link is not None, code
        query = {name: values[0] for name, values in parse_qs(link.group(1)).items()}
        listed = _rows(_page(underwriter_client, known_deal, **query))
        assert listed, f"the {code} flag opens onto no transaction"
        # The flag's own evidence names transactions: the list holds every one of them.
        detail = next(d for d in known_deal.flag_details if d["code"] == code)
        named = {item["id"] for item in detail["evidence"].get("transactions", [])}
        assert named <= set(listed)


def test_an_underwriter_marks_a_deposit_as_not_revenue_with_a_reason(
    underwriter_client: Client, underwriter: Any, known_deal: Deal
) -> None:
    deposit = Transaction.objects.filter(deal=known_deal, counted_as_revenue=True).order_by("date").first()
    assert deposit is not None
    before = known_deal.health_score
    assert before is not None
    response = underwriter_client.post(
        reverse("transaction-revenue-page", args=[known_deal.pk, deposit.pk]),
        {"counted": "no", "note": "a loan, not sales", "back": "category=revenue&page=1"},
    )
    assert response.status_code == 302
    target = urlsplit(response["Location"])
    assert target.path == reverse("deal-detail", args=[known_deal.pk])
    assert parse_qs(target.query) == {"category": ["revenue"], "page": ["1"]}
    assert target.fragment == "transactions"
    deposit.refresh_from_db()
    assert deposit.counted_as_revenue is False
    assert deposit.revenue_note == "a loan, not sales"
    rescored = Event.objects.filter(type="deal.rescored").latest("id")
    assert rescored.data["changed_by"] == underwriter.email
    assert "a loan, not sales" in rescored.data["reason"]
    assert rescored.data["previous_score"] == float(before)
    html = _page(underwriter_client, known_deal)
    row = re.search(rf'<tr data-transaction-id="{deposit.pk}".*?</tr>', html, re.S)
    assert row is not None
    assert "Not counted" in row.group(0)
    assert f"set by {underwriter.email}: a loan, not sales" in row.group(0)
    assert "Count as revenue" in row.group(0)
    # The event log says who and why.
    assert "a loan, not sales" in html


def test_a_debit_cannot_be_counted_as_revenue(underwriter_client: Client, known_deal: Deal) -> None:
    debit = Transaction.objects.filter(deal=known_deal, amount__lt=0).first()
    assert debit is not None
    html = _page(underwriter_client, known_deal)
    row = re.search(rf'<tr data-transaction-id="{debit.pk}".*?</tr>', html, re.S)
    assert row is not None
    assert "data-correct-revenue" not in row.group(0)
    response = underwriter_client.post(
        reverse("transaction-revenue-page", args=[known_deal.pk, debit.pk]), {"counted": "yes", "note": "x"}
    )
    assert response.status_code == 302
    debit.refresh_from_db()
    assert debit.counted_as_revenue is False
    assert "Only money coming in can count as revenue." in _page(underwriter_client, known_deal)


def test_a_statement_is_removed_from_the_page(
    underwriter_client: Client, underwriter: Any, known_deal: Deal
) -> None:
    statement = known_deal.statements.get()
    html = _page(underwriter_client, known_deal)
    assert f'data-remove-statement="{statement.pk}"' in html
    response = underwriter_client.post(reverse("statement-remove-page", args=[known_deal.pk, statement.pk]))
    assert response.status_code == 302
    assert not Statement.objects.filter(pk=statement.pk).exists()
    assert not Transaction.objects.filter(deal=known_deal).exists()
    removed = Event.objects.get(type="statement.removed")
    assert removed.data == {
        **removed.data,
        "deal_id": known_deal.pk,
        "statement_id": statement.pk,
        "removed_by": underwriter.email,
    }
    html = _page(underwriter_client, known_deal)
    assert "harbor.csv was removed from the deal" in html
    assert "No transactions yet" in html


def test_a_decided_deal_offers_no_correction_and_refuses_one(
    org: Organization, underwriter_client: Client, known_deal: Deal
) -> None:
    services.decide(org, known_deal.pk, "declined", decided_by="x")
    html = _page(underwriter_client, known_deal)
    assert "data-correct-revenue" not in html
    assert "data-remove-statement" not in html
    statement = known_deal.statements.get()
    underwriter_client.post(reverse("statement-remove-page", args=[known_deal.pk, statement.pk]))
    assert Statement.objects.filter(pk=statement.pk).exists()


def test_a_viewer_sees_the_table_but_may_not_change_it(viewer_client: Client, known_deal: Deal) -> None:
    html = _page(viewer_client, known_deal)
    assert _rows(html) == _ids(known_deal)
    assert "data-correct-revenue" not in html
    assert "data-remove-statement" not in html
    deposit = Transaction.objects.filter(deal=known_deal, amount__gt=0).first()
    assert deposit is not None
    statement = known_deal.statements.get()
    for url, body in (
        (reverse("transaction-revenue-page", args=[known_deal.pk, deposit.pk]), {"counted": "no"}),
        (reverse("statement-remove-page", args=[known_deal.pk, statement.pk]), {}),
    ):
        assert viewer_client.post(url, body).status_code == 403
    assert Statement.objects.filter(pk=statement.pk).exists()


def test_another_organisations_transactions_are_not_found(make_user: Any, known_deal: Deal) -> None:
    stranger = Organization.objects.create(name="Elsewhere")
    client = Client()
    client.force_login(make_user(stranger, username="stranger"))
    deposit = Transaction.objects.filter(deal=known_deal, amount__gt=0).first()
    assert deposit is not None
    assert client.get(reverse("deal-transactions-page", args=[known_deal.pk])).status_code == 404
    response = client.post(
        reverse("transaction-revenue-page", args=[known_deal.pk, deposit.pk]), {"counted": "no", "note": "x"}
    )
    assert response.status_code == 404


def test_the_live_fragment_keeps_the_filters(underwriter_client: Client, known_deal: Deal) -> None:
    response = underwriter_client.get(
        reverse("deal-transactions-page", args=[known_deal.pk]), {"flag": "nsf"}
    )
    html = response.content.decode()
    assert html.startswith('<section class="card" aria-labelledby="transactions-title" id="transactions"')
    assert _rows(html) == _ids(known_deal, flags__contains=["nsf"])


def test_the_deal_list_row_carries_the_flags(underwriter_client: Client, known_deal: Deal) -> None:
    response = underwriter_client.get(reverse("deal-row", args=[known_deal.pk]))
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith(f'<tr data-deal-id="{known_deal.pk}">')
    assert "Insufficient funds (NSF)" in html
