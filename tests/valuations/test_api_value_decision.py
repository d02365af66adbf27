"""POST /api/v1/value-decision with overrideProduct: shape, version, guardrails, storage, idempotency."""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest
from django.conf import settings
from rest_framework.test import APIClient

from accounts.models import Organization
from valuations.models import Valuation

URL = "/api/v1/value-decision"

REQUEST: dict[str, Any] = {
    "url": "https://retailer.example/product/123",
    "overrideProduct": {
        "brand": "Patagonia",
        "name": "Wool Coat",
        "category": "coat",
        "price": 249,
        "currency": "USD",
        "materials": [{"name": "wool", "percentage": 80}, {"name": "polyamide", "percentage": 20}],
    },
    "client": {"id": "browser-extension-demo", "surface": "extension_overlay", "version": "1.0.0"},
}

CIRCULARITY_SCORES = (
    "circularImpactScore",
    "materialLoopScore",
    "durabilityScore",
    "reparabilityScore",
    "recyclabilityScore",
)


def body(**override: Any) -> dict[str, Any]:
    """The sample request with some `overrideProduct` fields replaced."""
    data = copy.deepcopy(REQUEST)
    data["overrideProduct"].update(override)
    return data


def test_it_answers_exactly_the_spec_shape(api: APIClient) -> None:
    response = api.post(URL, REQUEST, format="json")
    assert response.status_code == 200, response.content
    data = response.json()
    assert set(data) == {
        "productId",
        "priceFairnessScore",
        "resalePotentialScore",
        "circularity",
        "explanations",
        "fairPriceRange",
        "generatedAt",
        "version",
    }
    assert re.fullmatch(r"prod_[0-9a-f]{16}", data["productId"])
    for score in (data["priceFairnessScore"], data["resalePotentialScore"]):
        assert type(score) is int
        assert 0 <= score <= 100
    circularity = data["circularity"]
    assert set(circularity) == {*CIRCULARITY_SCORES, "takebackAvailable", "tokens"}
    for name in CIRCULARITY_SCORES:
        assert type(circularity[name]) is int
        assert 0 <= circularity[name] <= 100
    assert circularity["takebackAvailable"] is True  # Patagonia runs a take-back programme
    assert "brand_takeback_program" in circularity["tokens"]
    assert all(isinstance(token, str) for token in circularity["tokens"])
    assert data["explanations"]
    assert all(isinstance(line, str) and line for line in data["explanations"])
    price_range = data["fairPriceRange"]
    assert set(price_range) == {"min", "max", "currency"}
    assert type(price_range["min"]) is int
    assert type(price_range["max"]) is int
    assert 0 < price_range["min"] <= price_range["max"]
    assert price_range["currency"] == "USD"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", data["generatedAt"])
    datetime.fromisoformat(data["generatedAt"])


def test_version_equals_the_scorer_version_header(api: APIClient) -> None:
    response = api.post(URL, REQUEST, format="json")
    assert response.json()["version"] == response["X-Scorer-Version"] == settings.SCORER_VERSION


def test_the_same_product_gets_the_same_scores(api: APIClient) -> None:
    first = api.post(URL, REQUEST, format="json").json()
    second = api.post(URL, REQUEST, format="json").json()
    first.pop("generatedAt")
    second.pop("generatedAt")
    assert first == second


def test_it_stores_the_valuation_with_its_request(api: APIClient, org: Organization) -> None:
    response = api.post(URL, REQUEST, format="json", HTTP_X_REQUEST_ID="req-store-1")
    stored = Valuation.objects.get()
    assert response["X-Valuation-Id"] == stored.pk
    assert stored.pk.startswith("val_")
    assert stored.organization == org
    assert (stored.client_id, stored.client_surface, stored.client_version) == (
        "browser-extension-demo",
        "extension_overlay",
        "1.0.0",
    )
    assert stored.request == REQUEST
    assert stored.result == response.json()
    assert stored.version == settings.SCORER_VERSION
    assert stored.source == "override"
    assert stored.product_id == response.json()["productId"]
    assert stored.request_id == "req-store-1"


def test_client_metadata_is_optional(api: APIClient) -> None:
    data = {"url": REQUEST["url"], "overrideProduct": {"price": 40}}
    response = api.post(URL, data, format="json")
    assert response.status_code == 200
    assert Valuation.objects.get().client_id == ""


@pytest.mark.parametrize(
    ("override", "field", "message"),
    [
        ({"price": 0}, "overrideProduct.price", "greater than 0"),
        ({"price": -5}, "overrideProduct.price", "greater than 0"),
        ({"price": "lots"}, "overrideProduct.price", "must be a number"),
        (
            {"materials": [{"name": f"fibre {i}", "percentage": 1} for i in range(21)]},
            "overrideProduct.materials",
            "At most 20",
        ),
        (
            {"materials": [{"name": "wool", "percentage": 101}]},
            "overrideProduct.materials[0].percentage",
            "between 0 and 100",
        ),
        (
            {"materials": [{"name": "wool", "percentage": -1}]},
            "overrideProduct.materials[0].percentage",
            "between 0 and 100",
        ),
        (
            {"materials": [{"name": "wool", "percentage": 70}, {"name": "cotton", "percentage": 40}]},
            "overrideProduct.materials",
            "must not exceed 100",
        ),
        ({"materials": [{"percentage": 10}]}, "overrideProduct.materials[0].name", "required"),
        ({"brand": "x" * 201}, "overrideProduct.brand", "at most 200"),
        ({"currency": "dollars"}, "overrideProduct.currency", "3-letter"),
    ],
)
def test_guardrails_answer_400_per_field(
    api: APIClient, override: dict[str, Any], field: str, message: str
) -> None:
    response = api.post(URL, body(**override), format="json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_request"
    assert message in " ".join(error["fields"][field])
    assert not Valuation.objects.exists()


def test_a_missing_price_is_400(api: APIClient) -> None:
    data = copy.deepcopy(REQUEST)
    del data["overrideProduct"]["price"]
    response = api.post(URL, data, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["fields"]["overrideProduct.price"] == ["Price is required."]


def test_every_bad_field_is_reported_at_once(api: APIClient) -> None:
    response = api.post(URL, body(price=0, materials=[{"name": "wool", "percentage": 150}]), format="json")
    fields = response.json()["error"]["fields"]
    assert {"overrideProduct.price", "overrideProduct.materials[0].percentage"} <= set(fields)


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"overrideProduct": {"price": 10}}, "url"),
        ({"url": "ftp://example.com/x", "overrideProduct": {"price": 10}}, "url"),
        ({"url": "javascript:alert(1)", "overrideProduct": {"price": 10}}, "url"),
        ({"url": "https://" + "a" * 2100 + ".com", "overrideProduct": {"price": 10}}, "url"),
        ({"url": "https://shop.example/x", "overrideProduct": "cheap"}, "overrideProduct.non_field_errors"),
        (
            {"url": "https://shop.example/x", "overrideProduct": {"price": 10}, "client": {"id": "c" * 129}},
            "client.id",
        ),
    ],
)
def test_malformed_requests_are_400_with_the_field(api: APIClient, data: dict[str, Any], field: str) -> None:
    response = api.post(URL, data, format="json")
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]


def test_an_http_url_is_accepted(api: APIClient) -> None:
    data = {**REQUEST, "url": "http://retailer.example/p/1"}
    assert api.post(URL, data, format="json").status_code == 200


def test_a_non_json_body_is_415(api: APIClient) -> None:
    response = api.post(URL, {"url": "https://x.example"}, format="multipart")
    assert response.status_code == 415


def test_it_needs_a_key(anon: APIClient) -> None:
    response = anon.post(URL, REQUEST, format="json")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthenticated"


def test_a_read_only_key_gets_403(org: Organization, make_key: Callable[..., str]) -> None:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {make_key(org, scopes=['read'])}")
    response = client.post(URL, REQUEST, format="json")
    assert response.status_code == 403
    assert not Valuation.objects.exists()


def test_the_same_idempotency_key_replays_and_stores_once(api: APIClient) -> None:
    first = api.post(URL, REQUEST, format="json", HTTP_IDEMPOTENCY_KEY="val-1")
    second = api.post(URL, REQUEST, format="json", HTTP_IDEMPOTENCY_KEY="val-1")
    assert second.status_code == 200
    assert second.json() == first.json()
    assert second["Idempotent-Replayed"] == "true"
    assert Valuation.objects.count() == 1


def test_an_idempotency_key_reused_with_another_body_is_409(api: APIClient) -> None:
    api.post(URL, REQUEST, format="json", HTTP_IDEMPOTENCY_KEY="val-2")
    response = api.post(URL, body(price=99), format="json", HTTP_IDEMPOTENCY_KEY="val-2")
    assert response.status_code == 409
    assert Valuation.objects.count() == 1


def test_the_openapi_schema_documents_the_response(api: APIClient) -> None:
    schema = APIClient().get("/api/schema/", HTTP_ACCEPT="application/json").json()
    operation = schema["paths"]["/api/v1/value-decision"]["post"]
    response_ref = operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    component = schema["components"]["schemas"][response_ref.rsplit("/", 1)[1]]
    actual = api.post(URL, REQUEST, format="json").json()
    # The documented fields are exactly the ones answered.
    assert set(component["properties"]) == set(actual)
    request_ref = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    request_component = schema["components"]["schemas"][request_ref.rsplit("/", 1)[1]]
    assert {"url", "overrideProduct", "client"} <= set(request_component["properties"])
    assert "/api/v1/valuations" in schema["paths"]
    assert "/api/v1/valuations/{valuation_id}" in schema["paths"]
