"""The deal list as a work queue: flags, an "awaiting decision" view with its count, server-side sorting."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.test import Client

from accounts.models import Organization
from deals import services
from deals.models import Deal, DealStatus

pytestmark = pytest.mark.django_db


def names_in_order(html: str) -> list[str]:
    return re.findall(r'data-field="link">([^<]+)</a>', html)


@pytest.fixture
def queue(org: Organization) -> dict[str, Deal]:
    """Three deals with distinct scores, amounts and ages; two are under review."""
    deals = {}
    for name, score, amount, status, flags in [
        ("Oldest Bakery", "40.0", "90000", DealStatus.UNDER_REVIEW, ["nsf", "loan_stacking"]),
        ("Middle Garage", "80.0", None, DealStatus.APPROVED, []),
        ("Newest Florist", None, "15000", DealStatus.NEW, []),
    ]:
        deal = services.create_deal(org, business_name=name, created_by="test")
        Deal.objects.filter(pk=deal.pk).update(
            health_score=Decimal(score) if score else None,
            amount_requested=Decimal(amount) if amount else None,
            status=status,
            flags=flags,
        )
        deals[name] = deal
    Deal.objects.filter(pk=deals["Newest Florist"].pk).update(status=DealStatus.UNDER_REVIEW)
    return deals


def test_it_shows_each_deals_flags_in_words(underwriter_client: Client, queue: dict[str, Deal]):
    html = underwriter_client.get("/").content.decode()

    assert '<th scope="col">Flags</th>' in html
    row = re.search(r'data-deal-id="{}".*?</tr>'.format(queue["Oldest Bakery"].pk), html, re.S)
    assert row
    assert "Insufficient funds (NSF)" in row.group(0)
    assert "Loan stacking" in row.group(0)


def test_the_awaiting_decision_view_lists_deals_under_review_with_their_count(
    underwriter_client: Client, queue: dict[str, Deal]
):
    everything = underwriter_client.get("/").content.decode()
    assert re.search(r'id="awaiting-count">2<', everything)

    html = underwriter_client.get("/?view=awaiting").content.decode()

    assert sorted(names_in_order(html)) == ["Newest Florist", "Oldest Bakery"]
    assert re.search(r'aria-current="page">Awaiting decision', html)


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("", ["Newest Florist", "Middle Garage", "Oldest Bakery"]),
        ("oldest", ["Oldest Bakery", "Middle Garage", "Newest Florist"]),
        ("score", ["Middle Garage", "Oldest Bakery", "Newest Florist"]),  # unscored last
        ("score_low", ["Oldest Bakery", "Middle Garage", "Newest Florist"]),
        ("amount", ["Oldest Bakery", "Newest Florist", "Middle Garage"]),  # no amount last
        ("amount_low", ["Newest Florist", "Oldest Bakery", "Middle Garage"]),
    ],
)
def test_it_sorts_by_score_amount_and_age_on_the_server(
    underwriter_client: Client, queue: dict[str, Deal], sort: str, expected: list[str]
):
    response = underwriter_client.get("/", {"sort": sort} if sort else {})

    assert response.status_code == 200
    assert names_in_order(response.content.decode()) == expected


def test_sorting_combines_with_the_awaiting_view_and_the_pager_keeps_both(
    underwriter_client: Client, org: Organization, queue: dict[str, Deal]
):
    for n in range(30):
        deal = services.create_deal(
            org, business_name=f"Shop {n:02}", created_by="x", amount_requested=Decimal(n)
        )
        Deal.objects.filter(pk=deal.pk).update(status=DealStatus.UNDER_REVIEW)

    html = underwriter_client.get("/?view=awaiting&sort=amount").content.decode()

    assert names_in_order(html)[:2] == ["Oldest Bakery", "Newest Florist"]
    assert 'href="?view=awaiting&amp;sort=amount&amp;page=2"' in html
    second = underwriter_client.get("/?view=awaiting&sort=amount&page=2").content.decode()
    assert names_in_order(second) == [f"Shop {n:02}" for n in range(6, -1, -1)]  # 32 deals, 25 a page


def test_an_unknown_sort_is_ignored_not_an_error(underwriter_client: Client, queue: dict[str, Deal]):
    response = underwriter_client.get("/?sort=drop+table&view=nonsense")

    assert response.status_code == 200
    assert len(names_in_order(response.content.decode())) == 3
