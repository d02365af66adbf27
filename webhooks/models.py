"""Webhook endpoints of an organisation and the log of every delivery attempt."""

from __future__ import annotations

import datetime

from django.db import models
from django.utils import timezone
from ulid import ULID

from webhooks.signing import generate_secret

# How long a rotated-out secret keeps signing, so receivers can switch without a gap.
PREVIOUS_SECRET_VALID_FOR = datetime.timedelta(hours=24)


def new_webhook_id() -> str:
    return f"wh_{ULID()}"


class WebhookEndpoint(models.Model):
    """Where an organisation wants its events pushed, and how far delivery has got.

    `cursor` is the id of the last event this endpoint is done with (delivered, skipped as not
    subscribed, or given up after its last retry): delivery reads the event store after it, in
    id order. `claim_token`/`claimed_until` make one delivery run at a time per endpoint.
    """

    id = models.CharField(primary_key=True, max_length=40, default=new_webhook_id, editable=False)
    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.CASCADE, related_name="webhook_endpoints"
    )
    url = models.URLField(max_length=2000)
    event_types = models.JSONField(default=list)
    description = models.CharField(max_length=500, blank=True, default="")
    enabled = models.BooleanField(default=True)
    disabled_reason = models.CharField(max_length=200, blank=True, default="")
    secret = models.CharField(max_length=100, default=generate_secret)
    previous_secret = models.CharField(max_length=100, blank=True, default="")
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True)
    cursor = models.BigIntegerField(default=0)
    # The attempt number of the event after `cursor` (0: not tried yet) and when to try it.
    attempt = models.IntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    # When the current run of failures began; None while deliveries succeed.
    failing_since = models.DateTimeField(null=True, blank=True)
    # Set when a run is queued and cleared when it starts: events published meanwhile need
    # no run of their own (the queued one will read them).
    run_queued_at = models.DateTimeField(null=True, blank=True)
    claim_token = models.CharField(max_length=40, blank=True, default="")
    claimed_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["organization", "enabled"], name="webhook_org_enabled")]

    def __str__(self) -> str:
        return f"{self.id} → {self.url}"

    def signing_secrets(self, now: datetime.datetime | None = None) -> list[str]:
        """The secrets that sign a delivery now: the current one, and a rotated-out one for 24 h."""
        now = now or timezone.now()
        found = [self.secret]
        if self.previous_secret and self.previous_secret_expires_at and self.previous_secret_expires_at > now:
            found.append(self.previous_secret)
        return found


class DeliveryStatus(models.TextChoices):
    DELIVERED = "delivered"
    RETRYING = "retrying"  # failed; `next_attempt_at` says when it is tried again
    FAILED = "failed"  # failed for the last time (or a ping): not tried again


class WebhookDelivery(models.Model):
    """One attempt to deliver one event (or a ping) to one endpoint."""

    id = models.BigAutoField(primary_key=True)
    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    event_id = models.BigIntegerField(null=True, blank=True)  # None for a ping
    type = models.CharField(max_length=64)
    attempt = models.IntegerField()
    status = models.CharField(max_length=16, choices=DeliveryStatus.choices)
    response_code = models.IntegerField(null=True, blank=True)
    duration_ms = models.IntegerField()
    error = models.CharField(max_length=300, blank=True, default="")
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["endpoint", "-id"], name="webhook_delivery_endpoint")]

    def __str__(self) -> str:
        return f"{self.endpoint_id} #{self.event_id} attempt {self.attempt}: {self.status}"
