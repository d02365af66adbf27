"""Stored first responses of creating POSTs, so a retried request creates nothing twice."""

from __future__ import annotations

from django.db import models


class IdempotencyRecord(models.Model):
    organization = models.ForeignKey("accounts.Organization", on_delete=models.CASCADE)
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64)
    # Null while the first request is still running: a concurrent retry then gets 409.
    status_code = models.PositiveSmallIntegerField(null=True)
    response_body = models.JSONField(null=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organization", "key"], name="unique_idempotency_key")]

    def __str__(self) -> str:
        return f"{self.key} → {self.status_code}"
