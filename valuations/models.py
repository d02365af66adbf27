"""Stored valuations: what a client asked, what the scorer answered, and under which version."""

from __future__ import annotations

from typing import Any

from django.db import models
from django.utils import timezone
from ulid import ULID


def new_valuation_id() -> str:
    # A prefixed ULID like the jobs' ids: not enumerable across organisations, sorts by time.
    return f"val_{ULID()}"


class ValuationSource(models.TextChoices):
    OVERRIDE = "override", "Supplied by the client (overrideProduct)"
    PAGE = "page", "Read from the product page"


class Valuation(models.Model):
    """One answered `value-decision` request, kept for audit until the retention period ends."""

    id = models.CharField(primary_key=True, max_length=40, default=new_valuation_id, editable=False)
    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.CASCADE, related_name="valuations"
    )
    client_id = models.CharField(max_length=128, blank=True, default="")
    client_surface = models.CharField(max_length=64, blank=True, default="")
    client_version = models.CharField(max_length=64, blank=True, default="")
    url = models.CharField(max_length=2048)
    product_id = models.CharField(max_length=40)
    source = models.CharField(max_length=16, choices=ValuationSource.choices)
    # The request exactly as the client sent it, and the response exactly as it was answered.
    request = models.JSONField()
    result = models.JSONField()
    version = models.CharField(max_length=32)
    request_id = models.CharField(max_length=128, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["organization", "-created_at"], name="valuation_org_recent"),
            models.Index(fields=["organization", "client_id", "-created_at"], name="valuation_org_client"),
            # The retention task deletes by age across every organisation.
            models.Index(fields=["created_at"], name="valuation_created"),
        ]

    def __str__(self) -> str:
        return f"{self.id} ({self.product_id})"

    @property
    def client(self) -> dict[str, Any]:
        """The client metadata as it appears in the API: `{"id", "surface", "version"}`."""
        return {"id": self.client_id, "surface": self.client_surface, "version": self.client_version}
