"""Request and response shapes of the valuation API (the spec's camelCase, kept verbatim).

`ValueDecisionRequestSerializer` is the one place the input rules live: it checks the body of
`POST /value-decision`, of both streams and of a valuation job, builds the typed
`ValuationRequest` the workflow takes (the engine gets a checked `Product`), and is what the
OpenAPI schema describes. Every message here is part of the API (tests assert them).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any, Final
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from django.core.validators import MaxLengthValidator
from drf_spectacular.utils import extend_schema_serializer
from rest_framework import serializers

from outbound.http import InvalidUrl, check_url
from valuations.models import Valuation, ValuationSource
from valuations.scoring import tables
from valuations.scoring.engine import Material, Product

MAX_URL_LENGTH = 2048
MAX_CLIENT_ID_LENGTH = 128

#: Query parameters that track a visit rather than name a product; dropped when
#: normalising a URL for the product id and the page cache.
TRACKING_QUERY_PARAMS: Final[frozenset[str]] = frozenset(
    {"gclid", "fbclid", "msclkid", "dclid", "yclid", "igshid", "mc_cid", "mc_eid", "ref", "srsltid", "_ga"}
)
TRACKING_QUERY_PREFIXES: Final[tuple[str, ...]] = ("utm_",)


def normalise_url(url: str) -> str:
    """A URL reduced to what identifies the product.

    Lower-cases scheme and host, drops `www.`, the default port, the fragment,
    a trailing slash and tracking parameters (`utm_*`, `gclid`, ...), and sorts
    the remaining query parameters. A string that is not a URL is returned stripped.
    """
    raw = url.strip()
    try:
        parts = urlsplit(raw)
        port = parts.port
    except ValueError:
        return raw
    if not parts.scheme or not parts.hostname:
        return raw
    scheme = parts.scheme.lower()
    host = parts.hostname.rstrip(".")
    host = host.removeprefix("www.")
    if ":" in host:  # an IPv6 literal keeps its brackets
        host = f"[{host}]"
    default_port = {"http": 80, "https": 443}.get(scheme)
    netloc = host if port in (None, default_port) else f"{host}:{port}"
    path = parts.path.rstrip("/") if parts.path not in ("", "/") else ""
    query = sorted(
        (key, value)
        for key, value in parse_qsl(parts.query, keep_blank_values=True)
        if key.lower() not in TRACKING_QUERY_PARAMS and not key.lower().startswith(TRACKING_QUERY_PREFIXES)
    )
    return urlunsplit((scheme, netloc, path, urlencode(query), ""))


def parse_decimal(value: object) -> Decimal | None:
    """A finite Decimal from a JSON number or numeric string, else None.

    Floats go through repr() so 19.99 stays 19.99 rather than its binary expansion;
    booleans are refused even though Python counts them as ints.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, Decimal):
        number = value
    elif isinstance(value, int | float):
        number = Decimal(repr(value))
    elif isinstance(value, str):
        try:
            number = Decimal(value.strip())
        except InvalidOperation:
            return None
    else:
        return None
    return number if number.is_finite() else None


# --- fields with the API's own messages ----------------------------------------------------


class TextField(serializers.CharField):
    """Optional text, stripped; `noun` names it in the messages ("Brand must be a string.")."""

    def __init__(self, noun: str, limit: int) -> None:
        super().__init__(max_length=limit, required=False, allow_null=True, allow_blank=True)
        self.noun = noun
        self.limit = limit

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            raise serializers.ValidationError(f"{self.noun} must be a string.")
        value = data.strip()
        if len(value) > self.limit:
            raise serializers.ValidationError(f"{self.noun} must be at most {self.limit} characters.")
        return value


class MaterialNameField(serializers.CharField):
    """A material line's name: a non-empty string (anything else is "required")."""

    REQUIRED: Final = "Material name is required."
    default_error_messages = {"required": REQUIRED, "null": REQUIRED, "blank": REQUIRED}

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("required")
        value = data.strip()
        if len(value) > tables.MAX_MATERIAL_NAME_LENGTH:
            raise serializers.ValidationError(
                f"Material name must be at most {tables.MAX_MATERIAL_NAME_LENGTH} characters."
            )
        return value


class CurrencyField(serializers.CharField):
    """A 3-letter code, upper-cased; absent or null means USD."""

    MESSAGE: Final = "Currency must be a 3-letter code such as USD."
    default_error_messages = {"blank": MESSAGE}
    _CODE: Final = re.compile(r"[A-Za-z]{3}")

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str) or not self._CODE.fullmatch(data.strip()):
            raise serializers.ValidationError(self.MESSAGE)
        return data.strip().upper()


class NumberField(serializers.DecimalField):
    """A JSON number or numeric string, then `check(number)`: a message when it is out of range.

    A DecimalField for the schema; parsing is `parse_decimal`, so any precision is kept and
    "19.99" means 19.99.
    """

    def __init__(
        self, *, missing: str, not_a_number: str, check: Callable[[Decimal], str | None], **kwargs: Any
    ) -> None:
        messages: dict[str, Any] = {"required": missing, "null": missing, "invalid": not_a_number}
        super().__init__(coerce_to_string=False, error_messages=messages, **kwargs)
        self.check = check

    def to_internal_value(self, data: Any) -> Decimal:
        number = parse_decimal(data)
        if number is None:
            self.fail("invalid")
        problem = self.check(number)
        if problem:
            raise serializers.ValidationError(problem)
        return number


def _price_problem(price: Decimal) -> str | None:
    if price <= 0:
        return "Price must be greater than 0."
    if price > tables.MAX_PRICE:
        return f"Price must be at most {tables.MAX_PRICE}."
    return None


def _percentage_problem(percentage: Decimal) -> str | None:
    return None if 0 <= percentage <= 100 else "Percentage must be between 0 and 100."


# --- the request ---------------------------------------------------------------------------

_LINE_NOT_AN_OBJECT: Final = "Each material must be an object with a name and a percentage."


class _MaterialList(serializers.ListSerializer[Material]):
    """Material lines; a body that is not a list, or too long, is one message on `materials`."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # For the schema's maxItems: the limit is checked first, in to_internal_value, in our words.
        self.validators = [*self.validators, MaxLengthValidator(tables.MAX_MATERIAL_LINES)]

    def to_internal_value(self, data: Any) -> list[Material]:
        if not isinstance(data, list):
            raise serializers.ValidationError(["Materials must be a list of {name, percentage} objects."])
        if len(data) > tables.MAX_MATERIAL_LINES:
            raise serializers.ValidationError(
                [f"At most {tables.MAX_MATERIAL_LINES} material lines are accepted."]
            )
        return super().to_internal_value(data)

    def run_child_validation(self, data: Any) -> Material:
        if not isinstance(data, Mapping):
            # On the line itself (`materials[2]`), not on a `non_field_errors` under it.
            raise serializers.ValidationError([_LINE_NOT_AN_OBJECT])
        material: Material = super().run_child_validation(data)
        return material


@extend_schema_serializer(component_name="Material")
class MaterialSerializer(serializers.Serializer[Material]):
    """One composition line of `overrideProduct.materials[]`."""

    name = MaterialNameField(max_length=tables.MAX_MATERIAL_NAME_LENGTH)
    percentage = NumberField(
        max_digits=5,
        decimal_places=2,
        min_value=0,
        max_value=100,
        missing="Percentage must be a number.",
        not_a_number="Percentage must be a number.",
        check=_percentage_problem,
    )

    class Meta:
        list_serializer_class = _MaterialList

    def validate(self, attrs: dict[str, Any]) -> Material:
        return Material(attrs["name"], attrs["percentage"])


@extend_schema_serializer(component_name="OverrideProduct")
class OverrideProductSerializer(serializers.Serializer[dict[str, Any]]):
    """The product as the client knows it; when given, the page at `url` is not read."""

    # Valid data is the keyword arguments of `Product` but its `url`. An unknown category is
    # fine: it is scored against a generic band.

    default_error_messages = {"invalid": "overrideProduct must be an object."}

    brand = TextField("Brand", tables.MAX_BRAND_LENGTH)
    name = TextField("Name", tables.MAX_NAME_LENGTH)
    category = TextField("Category", tables.MAX_CATEGORY_LENGTH)
    description = TextField("Description", tables.MAX_DESCRIPTION_LENGTH)
    price = NumberField(
        max_digits=16,
        decimal_places=2,
        help_text="Greater than 0.",
        missing="Price is required.",
        not_a_number="Price must be a number.",
        check=_price_problem,
    )
    currency = CurrencyField(
        min_length=3, max_length=3, required=False, allow_null=True, help_text="Default USD."
    )
    materials = MaterialSerializer(
        many=True,
        required=False,
        allow_null=True,
        help_text="At most 20 lines; percentages 0–100 adding up to at most 100.",
    )

    def validate_materials(self, lines: list[Material] | None) -> tuple[Material, ...]:
        total = sum((line.percentage for line in lines or ()), Decimal(0))
        if total > 100:
            raise serializers.ValidationError(
                f"Material percentages add up to {format(total.normalize(), 'f')}; they must not exceed 100."
            )
        return tuple(lines or ())

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        return {
            "brand": attrs.get("brand") or None,
            "name": attrs.get("name") or None,
            "category": attrs.get("category") or None,
            "description": attrs.get("description") or "",
            "price": attrs["price"],
            "currency": attrs.get("currency") or tables.DEFAULT_CURRENCY,
            "materials": attrs.get("materials", ()),
        }


class ClientSerializer(serializers.Serializer[dict[str, Any]]):
    """Who is asking: lets an integrator purge one surface's data and track scorer drift."""

    id = serializers.CharField(max_length=MAX_CLIENT_ID_LENGTH, required=False, allow_blank=True, default="")
    surface = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")
    version = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")


@dataclasses.dataclass(frozen=True)
class ValuationRequest:
    """A checked request: what to value and on whose behalf.

    `product_url` is `url` normalised (`normalise_url`): the product's identity, so the
    product id and the page cache do not split on tracking parameters or spelling.
    """

    url: str
    product_url: str
    client: Mapping[str, str]
    override: Product | None
    raw: dict[str, Any]

    @property
    def source(self) -> str:
        return ValuationSource.OVERRIDE if self.override is not None else ValuationSource.PAGE


# Named without "Request": COMPONENT_SPLIT_REQUEST appends it in the schema.
@extend_schema_serializer(component_name="ValueDecision")
class ValueDecisionRequestSerializer(serializers.Serializer[dict[str, Any]]):
    """A product to value: `url`, optionally `overrideProduct`, and `client` metadata."""

    # Also the body of both streams and a valuation job's `input`. A job stores
    # `validated_data` as its input, so that stays the JSON as sent; the typed request the
    # workflow takes is left on `valuation_request`.

    url = serializers.CharField(max_length=MAX_URL_LENGTH)
    overrideProduct = OverrideProductSerializer(required=False, allow_null=True)
    client = ClientSerializer(required=False)

    valuation_request: ValuationRequest

    def validate_url(self, value: str) -> str:
        try:
            check_url(value)
        except InvalidUrl as exc:
            raise serializers.ValidationError(exc.message + ".") from None
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        product_url = normalise_url(attrs["url"])
        override = attrs.get("overrideProduct")
        self.valuation_request = ValuationRequest(
            url=attrs["url"],
            product_url=product_url,
            client=attrs.get("client") or {"id": "", "surface": "", "version": ""},
            override=None if override is None else Product(url=product_url, **override),
            raw=self.initial_data,
        )
        if "overrideProduct" in attrs:
            attrs["overrideProduct"] = self.initial_data["overrideProduct"]
        return attrs


class CircularitySerializer(serializers.Serializer[dict[str, Any]]):
    circularImpactScore = serializers.IntegerField(min_value=0, max_value=100)
    materialLoopScore = serializers.IntegerField(min_value=0, max_value=100)
    durabilityScore = serializers.IntegerField(min_value=0, max_value=100)
    reparabilityScore = serializers.IntegerField(min_value=0, max_value=100)
    recyclabilityScore = serializers.IntegerField(min_value=0, max_value=100)
    takebackAvailable = serializers.BooleanField()
    tokens = serializers.ListField(child=serializers.CharField())


class FairPriceRangeSerializer(serializers.Serializer[dict[str, Any]]):
    min = serializers.IntegerField()
    max = serializers.IntegerField()
    currency = serializers.CharField()


class ValueDecisionResponseSerializer(serializers.Serializer[dict[str, Any]]):
    """A valuation: scores 0–100, circularity details, explanations and a fair price range."""

    # Views return the engine's dict as is; this documents it (a test keeps the two equal).

    productId = serializers.CharField()
    priceFairnessScore = serializers.IntegerField(min_value=0, max_value=100)
    resalePotentialScore = serializers.IntegerField(min_value=0, max_value=100)
    circularity = CircularitySerializer()
    explanations = serializers.ListField(child=serializers.CharField())
    fairPriceRange = FairPriceRangeSerializer()
    generatedAt = serializers.DateTimeField()
    version = serializers.CharField(help_text="Equals the X-Scorer-Version header.")


class ValuationSerializer(serializers.ModelSerializer[Valuation]):
    """A stored valuation: the request as sent and the response as answered."""

    client = ClientSerializer(read_only=True)
    request = serializers.JSONField(read_only=True)
    result = ValueDecisionResponseSerializer(read_only=True)

    class Meta:
        model = Valuation
        fields = [
            "id",
            "client",
            "url",
            "product_id",
            "source",
            "version",
            "request",
            "result",
            "request_id",
            "created_at",
        ]
        read_only_fields = fields


class ValuationListQuery(serializers.Serializer[dict[str, Any]]):
    client_id = serializers.CharField(max_length=MAX_CLIENT_ID_LENGTH, required=False)


class ValuationPurgeQuery(serializers.Serializer[dict[str, Any]]):
    client_id = serializers.CharField(
        min_length=1, max_length=MAX_CLIENT_ID_LENGTH, help_text="The client to purge."
    )


class PurgeResultSerializer(serializers.Serializer[dict[str, Any]]):
    deleted = serializers.IntegerField()
