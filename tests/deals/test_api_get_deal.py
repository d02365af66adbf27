"""GET /api/v1/deals/{id}."""

from __future__ import annotations

import pytest

from deals.models import Deal

pytestmark = pytest.mark.django_db


def test_it_shows_a_deal(api, org):
    deal = Deal.objects.create(organization=org, business_name="Bolt", external_ref="R1")
    response = api.get(f"/api/v1/deals/{deal.pk}")
    assert response.status_code == 200
    body = response.json()
    assert body["id"] == deal.pk
    assert body["status"] == "new"
    for name in ("statements", "health_score", "flags", "explanations", "proposal", "decision", "score"):
        assert name in body


def test_another_organisations_deal_is_not_found(api, other_org):
    deal = Deal.objects.create(organization=other_org, business_name="Theirs")
    response = api.get(f"/api/v1/deals/{deal.pk}")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize("deal_id", ["999999", "abc", "1.5", "99999999999999999999999", "-1"])
def test_unknown_or_malformed_ids_are_not_found(api, deal_id):
    response = api.get(f"/api/v1/deals/{deal_id}")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/json")
