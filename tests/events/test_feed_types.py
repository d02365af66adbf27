"""A feed's `?types=` filter is checked before any stream byte."""

from __future__ import annotations

import pytest
from django.test import AsyncClient

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize("path", ["/api/v1/events", "/api/v1/events/deals/1", "/api/v1/jobs/job_x/stream"])
async def test_an_unknown_type_is_a_400_json_error(api_key: str, path: str) -> None:
    response = await AsyncClient().get(
        path + "?types=processing.*,deal.nope", headers={"Authorization": f"Bearer {api_key}"}
    )
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body["error"]["code"] == "invalid_types"
    assert "deal.nope" in body["error"]["fields"]["types"][0]
