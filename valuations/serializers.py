"""Request and response shapes of the valuation API (the spec's camelCase, kept verbatim)."""

from __future__ import annotations

import re
from typing import Any

from drf_spectacular.utils import extend_schema_field, extend_schema_serializer
from rest_framework import serializers

from outbound.http import InvalidUrl, check_url
from valuations.models import Valuation
from valuations.scoring import tables
from valuations.scoring.engine import Product, validate_override

MAX_URL_LENGTH = 2048
MAX_CLIENT_ID_LENGTH = 128

# The engine names a material line's fields `materials.3.name`; the API's other per-field
# messages use DRF's flattened form `materials[3].name`, so clients see one convention.
_LINE_INDEX = re.compile(r"\.(\d+)(?=\.|$)")


class ClientSerializer(serializers.Serializer[dict[str, Any]]):
    """Who is asking: lets an integrator purge one surface's data and track scorer drift."""

    id = serializers.CharField(max_length=MAX_CLIENT_ID_LENGTH, required=False, allow_blank=True, default="")
    surface = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")
    version = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")


@extend_schema_serializer(component_name="Material")
class MaterialDoc(serializers.Serializer[dict[str, Any]]):
    """One composition line (documentation of `overrideProduct.materials[]`)."""

    name = serializers.CharField(max_length=tables.MAX_MATERIAL_NAME_LENGTH)
    percentage = serializers.DecimalField(max_digits=5, decimal_places=2, min_value=0, max_value=100)


# Documentation only: validation is the engine's guardrail (`validate_override`), so the
# rules live in one place; this class describes the shape for the OpenAPI schema.
@extend_schema_serializer(component_name="OverrideProduct")
class OverrideProductDoc(serializers.Serializer[dict[str, Any]]):
    """The product as the client knows it; when given, the page at `url` is not read."""

    brand = serializers.CharField(max_length=tables.MAX_BRAND_LENGTH, required=False)
    name = serializers.CharField(max_length=tables.MAX_NAME_LENGTH, required=False)
    category = serializers.CharField(max_length=tables.MAX_CATEGORY_LENGTH, required=False)
    description = serializers.CharField(max_length=tables.MAX_DESCRIPTION_LENGTH, required=False)
    price = serializers.DecimalField(
        max_digits=16, decimal_places=2, help_text="Greater than 0.", coerce_to_string=False
    )
    currency = serializers.CharField(min_length=3, max_length=3, required=False, help_text="Default USD.")
    materials = serializers.ListField(
        child=MaterialDoc(),
        max_length=tables.MAX_MATERIAL_LINES,
        required=False,
        help_text="At most 20 lines; percentages 0–100 adding up to at most 100.",
    )


@extend_schema_field(OverrideProductDoc)
class OverrideProductField(serializers.JSONField):
    """Any JSON here; `ValueDecisionRequestSerializer.validate` applies the engine's guardrails."""


# Named without "Request": COMPONENT_SPLIT_REQUEST appends it in the schema.
@extend_schema_serializer(component_name="ValueDecision")
class ValueDecisionRequestSerializer(serializers.Serializer[dict[str, Any]]):
    """A product to value: `url`, optionally `overrideProduct`, and `client` metadata."""

    # Also the body of both streams and a valuation job's `input`. `validated_data` stays
    # plain JSON (a job stores it); the checked product is left on `override_product`.

    url = serializers.CharField(max_length=MAX_URL_LENGTH)
    overrideProduct = OverrideProductField(required=False, allow_null=True)
    client = ClientSerializer(required=False)

    override_product: Product | None = None

    def validate_url(self, value: str) -> str:
        try:
            check_url(value)
        except InvalidUrl as exc:
            raise serializers.ValidationError(exc.message + ".") from None
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        raw = attrs.get("overrideProduct")
        self.override_product = None
        if raw is not None:
            product, errors = validate_override(raw, url=attrs["url"])
            if errors:
                raise serializers.ValidationError(
                    {
                        "overrideProduct": {
                            _LINE_INDEX.sub(r"[\1]", name): msgs for name, msgs in errors.items()
                        }
                    }
                )
            self.override_product = product
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
