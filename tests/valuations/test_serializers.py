"""The valuation request's rules: the typed request it builds, and every 400 it answers, field by field."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from rest_framework.exceptions import ValidationError
from rest_framework.test import APIClient

from valuations.models import Valuation
from valuations.scoring.engine import Material, Product, product_id
from valuations.serializers import ValueDecisionRequestSerializer, normalise_url
from valuations.services import parse_request

URL = "/api/v1/value-decision"

VALID_OVERRIDE: dict[str, Any] = {
    "brand": "Example Brand",
    "name": "Wool Coat",
    "category": "coat",
    "price": 249,
    "currency": "usd",
    "materials": [{"name": "wool", "percentage": 80}, {"name": "polyamide", "percentage": 20}],
}


def override_product(override: Any, url: str = "https://x.example/p") -> Product:
    request = parse_request({"url": url, "overrideProduct": override})
    assert request.override is not None
    return request.override


def test_a_valid_override_becomes_a_product() -> None:
    request = parse_request({"url": "https://retailer.com/product/123", "overrideProduct": VALID_OVERRIDE})
    assert request.override == Product(
        url="https://retailer.com/product/123",
        brand="Example Brand",
        name="Wool Coat",
        category="coat",
        price=Decimal(249),
        currency="USD",
        materials=(Material("wool", Decimal(80)), Material("polyamide", Decimal(20))),
    )
    assert request.source == "override"
    assert request.client == {"id": "", "surface": "", "version": ""}


def test_a_minimal_override_defaults_to_usd_and_no_materials() -> None:
    product = override_product({"brand": "Example", "price": 129.99})
    assert (product.price, product.currency, product.materials) == (Decimal("129.99"), "USD", ())
    assert (product.name, product.category, product.description) == (None, None, "")


def test_text_is_stripped_and_blank_or_null_means_absent() -> None:
    product = override_product(
        {
            "price": "10.5",
            "brand": "  Acme  ",
            "name": "",
            "category": None,
            "currency": None,
            "materials": None,
        }
    )
    assert (product.brand, product.name, product.category) == ("Acme", None, None)
    assert (product.price, product.currency, product.materials) == (Decimal("10.5"), "USD", ())


def test_an_unknown_category_is_accepted() -> None:
    assert override_product({**VALID_OVERRIDE, "category": "Spaceship"}).category == "Spaceship"


def test_twenty_material_lines_and_a_sum_of_exactly_100_are_fine() -> None:
    lines = [{"name": "cotton", "percentage": 5}] * 20
    assert len(override_product({**VALID_OVERRIDE, "materials": lines}).materials) == 20


def test_the_product_url_is_normalised_so_tracking_and_spelling_share_a_product_id() -> None:
    base = parse_request(
        {"url": "https://shop.example/p/1?color=red&size=m", "overrideProduct": VALID_OVERRIDE}
    )
    same = parse_request(
        {
            "url": "HTTPS://www.Shop.example:443/p/1/?size=m&utm_source=x&color=red&gclid=1#reviews",
            "overrideProduct": VALID_OVERRIDE,
        }
    )
    assert same.url.startswith("HTTPS://www.Shop.example")  # stored and echoed as sent
    assert base.product_url == same.product_url == "https://shop.example/p/1?color=red&size=m"
    assert base.override is not None
    assert same.override is not None
    assert product_id(base.override) == product_id(same.override)


def test_normalise_url() -> None:
    assert (
        normalise_url("HTTP://Example.COM:80/a/?b=2&a=1&utm_medium=x#top") == "http://example.com/a?a=1&b=2"
    )
    assert normalise_url("https://[::1]:8443/") == "https://[::1]:8443"
    assert normalise_url("not a url") == "not a url"


def test_validated_data_stays_the_json_as_sent() -> None:
    # A valuation job stores it as its input: it must be JSON, and what the client sent.
    data = {"url": "https://x.example/p", "overrideProduct": {**VALID_OVERRIDE, "price": "249.00"}}
    serializer = ValueDecisionRequestSerializer(data=data)
    assert serializer.is_valid(), serializer.errors
    assert serializer.validated_data["overrideProduct"] == data["overrideProduct"]


def test_a_request_that_is_not_an_object_is_refused() -> None:
    with pytest.raises(ValidationError) as raised:
        parse_request(["url"])
    assert raised.value.detail == {"non_field_errors": ["The request body must be a JSON object."]}


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"price": 0}, "price", "Price must be greater than 0."),
        ({"price": -5}, "price", "Price must be greater than 0."),
        ({"price": 2_000_000_000}, "price", "Price must be at most 1000000000."),
        ({"price": "abc"}, "price", "Price must be a number."),
        ({"price": True}, "price", "Price must be a number."),
        ({"price": "NaN"}, "price", "Price must be a number."),
        ({"price": None}, "price", "Price is required."),
        ({"currency": "US"}, "currency", "Currency must be a 3-letter code such as USD."),
        ({"currency": ""}, "currency", "Currency must be a 3-letter code such as USD."),
        ({"currency": 840}, "currency", "Currency must be a 3-letter code such as USD."),
        ({"brand": "b" * 201}, "brand", "Brand must be at most 200 characters."),
        ({"name": "n" * 201}, "name", "Name must be at most 200 characters."),
        ({"category": "c" * 101}, "category", "Category must be at most 100 characters."),
        ({"description": "d" * 5001}, "description", "Description must be at most 5000 characters."),
        ({"brand": 5}, "brand", "Brand must be a string."),
        (
            {"materials": [{"name": "wool", "percentage": 5}] * 21},
            "materials",
            "At most 20 material lines are accepted.",
        ),
        ({"materials": "wool"}, "materials", "Materials must be a list of {name, percentage} objects."),
        ({"materials": [{"name": "wool", "percentage": 120}]}, "materials[0].percentage",
         "Percentage must be between 0 and 100."),
        ({"materials": [{"name": "wool", "percentage": -1}]}, "materials[0].percentage",
         "Percentage must be between 0 and 100."),
        ({"materials": [{"name": "wool", "percentage": "x"}]}, "materials[0].percentage",
         "Percentage must be a number."),
        ({"materials": [{"name": "wool"}]}, "materials[0].percentage", "Percentage must be a number."),
        ({"materials": [{"name": "", "percentage": 10}]}, "materials[0].name", "Material name is required."),
        ({"materials": [{"name": 7, "percentage": 10}]}, "materials[0].name", "Material name is required."),
        ({"materials": [{"percentage": 10}]}, "materials[0].name", "Material name is required."),
        ({"materials": [{"name": "w" * 101, "percentage": 10}]}, "materials[0].name",
         "Material name must be at most 100 characters."),
        ({"materials": ["wool"]}, "materials[0]", "Each material must be an object with a name and a percentage."),
        ({"materials": [None]}, "materials[0]", "Each material must be an object with a name and a percentage."),
        (
            {"materials": [{"name": "wool", "percentage": 80}, {"name": "nylon", "percentage": 40}]},
            "materials",
            "Material percentages add up to 120; they must not exceed 100.",
        ),
    ],
)  # fmt: skip
def test_override_guardrails(api: APIClient, change: dict[str, Any], field: str, message: str) -> None:
    response = api.post(
        URL, {"url": "https://x.example/p", "overrideProduct": {**VALID_OVERRIDE, **change}}, format="json"
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_request"
    assert error["fields"] == {f"overrideProduct.{field}": [message]}
    assert not Valuation.objects.exists()


def test_an_override_that_is_not_an_object_is_refused(api: APIClient) -> None:
    response = api.post(URL, {"url": "https://x.example/p", "overrideProduct": ["price", 5]}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {
        "overrideProduct.non_field_errors": ["overrideProduct must be an object."]
    }


def test_every_error_is_reported_at_once(api: APIClient) -> None:
    bad = {"price": 0, "currency": "dollars", "brand": "b" * 300, "materials": [{"name": "wool"}, "x"]}
    response = api.post(URL, {"url": "ftp://x.example/p", "overrideProduct": bad}, format="json")
    assert set(response.json()["error"]["fields"]) == {
        "url",
        "overrideProduct.price",
        "overrideProduct.currency",
        "overrideProduct.brand",
        "overrideProduct.materials[0].percentage",
        "overrideProduct.materials[1]",
    }
