"""Request and response shapes of the webhooks API."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from rest_framework import serializers

from events.filters import pattern_problem
from outbound.http import OutboundError, check_destination
from webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint

MAX_EVENT_TYPES = 50
# Creation answers at once: a host whose name takes longer to resolve is refused.
RESOLVE_TIMEOUT_SECONDS = 3.0


class WebhookIn(serializers.Serializer[Any]):
    url = serializers.URLField(
        max_length=2000, help_text="http(s) URL on a public address; redirects are not followed."
    )
    event_types = serializers.ListField(
        child=serializers.CharField(max_length=64),
        min_length=1,
        max_length=MAX_EVENT_TYPES,
        help_text="Event types to deliver; `*` is a wildcard (`processing.*`, `*`).",
    )
    description = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")

    def validate_url(self, url: str) -> str:
        try:
            check_destination(
                url, allow_private=settings.WEBHOOK_ALLOW_PRIVATE_URLS, timeout=RESOLVE_TIMEOUT_SECONDS
            )
        except OutboundError as exc:
            raise serializers.ValidationError(exc.message) from None
        return url

    def validate_event_types(self, patterns: list[str]) -> list[str]:
        problems = [problem for problem in map(pattern_problem, patterns) if problem]
        if problems:
            raise serializers.ValidationError(problems)
        return list(dict.fromkeys(patterns))  # duplicates dropped, order kept


class WebhookPatch(WebhookIn):
    # Validated with partial=True: only the fields sent change, and no default is filled in.
    description = serializers.CharField(max_length=500, required=False, allow_blank=True)
    enabled = serializers.BooleanField(required=False)


class WebhookOut(serializers.ModelSerializer[WebhookEndpoint]):
    event_types = serializers.ListField(child=serializers.CharField())

    class Meta:
        model = WebhookEndpoint
        fields = [
            "id",
            "url",
            "event_types",
            "description",
            "enabled",
            "disabled_reason",
            "previous_secret_expires_at",
            "created_at",
            "updated_at",
        ]


class WebhookCreatedOut(WebhookOut):
    secret = serializers.CharField(help_text="The signing secret (`whsec_…`). Shown only now.")

    class Meta(WebhookOut.Meta):
        fields = [*WebhookOut.Meta.fields, "secret"]


class SecretOut(serializers.Serializer[Any]):
    id = serializers.CharField()
    secret = serializers.CharField(help_text="The new signing secret. Shown only now.")
    previous_secret_expires_at = serializers.DateTimeField(
        help_text="Until then deliveries carry a signature by the previous secret too."
    )


class DeliveryOut(serializers.ModelSerializer[WebhookDelivery]):
    status = serializers.ChoiceField(choices=DeliveryStatus.choices)

    class Meta:
        model = WebhookDelivery
        fields = [
            "id",
            "event_id",
            "type",
            "attempt",
            "status",
            "response_code",
            "duration_ms",
            "error",
            "next_attempt_at",
            "created_at",
        ]


class ReplayIn(serializers.Serializer[Any]):
    since_id = serializers.IntegerField(
        min_value=0, max_value=2**63 - 1, help_text="Re-send the events after this id."
    )


class ReplayOut(serializers.Serializer[Any]):
    since_id = serializers.IntegerField()
    cursor = serializers.IntegerField(
        help_text="Delivery continues with the first subscribed event after this id."
    )


class PingOut(serializers.Serializer[Any]):
    status = serializers.ChoiceField(choices=["queued"])
