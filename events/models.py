"""Stored events: each row's id is its SSE `id:`, which is what makes resume possible."""

from __future__ import annotations

from django.db import models


class OrgEventSequence(models.Model):
    """Per-organisation counter, bumped under a row lock by every publish.

    The lock is held until the publishing transaction commits, so within one
    organisation events become visible in the order of their ids (and of `seq`):
    a resume cursor `id > N` can never jump over an event that commits later.
    """

    organization = models.OneToOneField("accounts.Organization", on_delete=models.CASCADE, primary_key=True)
    last_seq = models.BigIntegerField(default=0)
    # Highest event id removed by retention: a resume cursor below it may have missed events.
    pruned_through_id = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.organization_id}: {self.last_seq}"


class EventQuerySet(models.QuerySet["Event"]):
    def for_feed(self, organization_id: int, feed: str, key: object = None) -> EventQuerySet:
        qs = self.filter(organization_id=organization_id)
        if feed == "org":
            return qs.filter(in_org_feed=True)
        return qs.filter(**{f"{feed}_id": key})


class Event(models.Model):
    id = models.BigAutoField(primary_key=True)
    organization = models.ForeignKey("accounts.Organization", on_delete=models.CASCADE, related_name="events")
    seq = models.BigIntegerField()
    type = models.CharField(max_length=64)
    data = models.JSONField()
    # Feed membership, from the catalogue; plain columns so events outlive what they describe.
    in_org_feed = models.BooleanField(default=False)
    deal_id = models.BigIntegerField(null=True, blank=True)
    # NULL, not "", means "not in that feed": the feed indexes then skip those rows.
    batch_id = models.CharField(max_length=40, null=True, blank=True)  # noqa: DJ001
    job_id = models.CharField(max_length=40, null=True, blank=True)  # noqa: DJ001
    request_id = models.CharField(max_length=128, blank=True, default="")
    created_at = models.DateTimeField(db_index=True)

    objects = EventQuerySet.as_manager()

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "seq"], name="unique_event_seq_per_org")
        ]
        indexes = [
            models.Index(fields=["organization", "in_org_feed", "id"], name="event_org_feed"),
            models.Index(fields=["organization", "deal_id", "id"], name="event_deal_feed"),
            models.Index(fields=["organization", "batch_id", "id"], name="event_batch_feed"),
            models.Index(fields=["organization", "job_id", "id"], name="event_job_feed"),
            models.Index(fields=["organization", "type", "id"], name="event_type"),
        ]

    def __str__(self) -> str:
        return f"#{self.id} {self.type}"


class StreamTicket(models.Model):
    """A single-use credential for opening one feed, so no API key travels in a URL.

    Issued to an API key (events/tickets.py) and bound to its organisation, one feed and
    the key's scopes. Only a hash is stored, like a key's; the row is spent on first use.
    """

    organization = models.ForeignKey("accounts.Organization", on_delete=models.CASCADE)
    api_key = models.ForeignKey("accounts.ApiKey", on_delete=models.CASCADE, related_name="stream_tickets")
    token_hash = models.CharField(max_length=64, unique=True)
    # The feed as (kind, key): `org` with an empty key, or `deal`/`batch`/`job` and the id.
    feed_kind = models.CharField(max_length=8)
    feed_key = models.CharField(max_length=40, blank=True, default="")
    # The `types` filter the ticket was issued for (normalised, comma-separated), or "" for all.
    types = models.CharField(max_length=1000, blank=True, default="")
    scopes = models.JSONField(default=list)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"ticket for {self.feed_kind} {self.feed_key}".rstrip()
