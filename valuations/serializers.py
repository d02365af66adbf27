"""Request and response shapes of the valuation API (the spec's camelCase, kept verbatim).

`ValueDecisionRequestSerializer` is the one place the input rules live: it checks the body of
`POST /value-decision`, of both streams and of a valuation job, builds the typed
`ValuationRequest` the workflow takes (the engine gets a checked `Product`), and is what the
OpenAPI schema describes. Every message here is part of the API (tests assert them).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Final
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from django.core.validators import MaxLengthValidator
from drf_spectacular.utils import extend_schema_serializer
from rest_framework import serializers

from outbound.http import OutboundError, check_url
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
    host = parts.hostname.rstrip(".").removeprefix("www.")
    if ":" in host:  # an IPv6 literal keeps its brackets
        host = f"[{host}]"
    default_port = {"http": 80, "https": 443}.get(scheme)
    netloc = host if port in (None, default_port) else f"{host}:{port}"
    path = parts.path.rstrip("/")
    query = sorted(
        (key, value)
        for key, value in parse_qsl(parts.query, keep_blank_values=True)
        if key.lower() not in TRACKING_QUERY_PARAMS and not key.lower().startswith(TRACKING_QUERY_PREFIXES)
    )
    return urlunsplit((scheme, netloc, path, urlencode(query), ""))


# --- fields with the API's own messages ----------------------------------------------------


class TextField(serializers.CharField):
    """Text, stripped; `noun` names it in the messages ("Brand must be at most 200 characters.")."""

    def __init__(self, noun: str, limit: int, *, not_a_string: str = "", **kwargs: Any) -> None:
        options = {"required": False, "allow_null": True, "allow_blank": True, **kwargs}
        super().__init__(max_length=limit, **options)
        self.noun, self.limit = noun, limit
        self.not_a_string = not_a_string or f"{noun} must be a string."

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            raise serializers.ValidationError(self.not_a_string)
        value = data.strip()
        if len(value) > self.limit:
            raise serializers.ValidationError(f"{self.noun} must be at most {self.limit} characters.")
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


def number_field(
    *, missing: str, not_a_number: str, error_messages: dict[str, Any], **kwargs: Any
) -> serializers.DecimalField:
    """A JSON number or numeric string, kept at the precision sent ("19.999" stays 19.999)."""
    messages: dict[str, Any] = {"required": missing, "null": missing, "invalid": not_a_number}
    messages.update(max_string_length=not_a_number, **error_messages)
    return serializers.DecimalField(None, None, coerce_to_string=False, error_messages=messages, **kwargs)


# --- the request ---------------------------------------------------------------------------

_LINE_NOT_AN_OBJECT: Final = "Each material must be an object with a name and a percentage."
_NAME_REQUIRED: Final = "Material name is required."
_PERCENTAGE_RANGE: Final = "Percentage must be between 0 and 100."


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

    name = TextField(
        "Material name",
        tables.MAX_MATERIAL_NAME_LENGTH,
        not_a_string=_NAME_REQUIRED,
        required=True,
        allow_null=False,
        allow_blank=False,
        error_messages={"required": _NAME_REQUIRED, "null": _NAME_REQUIRED, "blank": _NAME_REQUIRED},
    )
    percentage = number_field(
        missing="Percentage must be a number.",
        not_a_number="Percentage must be a number.",
        min_value=0,
        max_value=100,
        error_messages={"min_value": _PERCENTAGE_RANGE, "max_value": _PERCENTAGE_RANGE},
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
    price = number_field(
        missing="Price is required.",
        not_a_number="Price must be a number.",
        max_value=tables.MAX_PRICE,
        error_messages={"max_value": "Price must be at most {max_value}."},
        help_text="Greater than 0.",
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

    def validate_price(self, price: Decimal) -> Decimal:
        if price <= 0:
            raise serializers.ValidationError("Price must be greater than 0.")
        return price

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

    default_error_messages = {"invalid": "The request body must be a JSON object."}

    url = serializers.CharField(max_length=MAX_URL_LENGTH)
    overrideProduct = OverrideProductSerializer(required=False, allow_null=True)
    client = ClientSerializer(required=False)

    valuation_request: ValuationRequest

    def validate_url(self, value: str) -> str:
        try:
            check_url(value)
        except OutboundError as exc:
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


class ValuationClientQuery(serializers.Serializer[dict[str, Any]]):
    """`?client_id=`: required by a purge, optional on a list (`partial=True`)."""

    client_id = serializers.CharField(
        min_length=1, max_length=MAX_CLIENT_ID_LENGTH, help_text="The client to purge."
    )


class PurgeResultSerializer(serializers.Serializer[dict[str, Any]]):
    deleted = serializers.IntegerField()
