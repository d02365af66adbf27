"""Organisations, their members and their API keys: who may see and change what."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.db import models, transaction
from django.utils import timezone

KEY_PREFIXES = ("dsk_live_", "dsk_test_")
# The readable part kept in the database: the environment marker plus 8 random characters.
DISPLAY_PREFIX_LENGTH = len("dsk_live_") + 8
# last_used_at is a hint for admins, not an audit log: one write a minute per key is enough.
LAST_USED_RESOLUTION = timedelta(minutes=1)
# How long a rotated key keeps working, so integrations can switch without downtime.
ROTATION_GRACE = timedelta(hours=24)


class Organization(models.Model):
    """The tenant: every deal, job, event and key belongs to one organisation."""

    name = models.CharField(max_length=200, unique=True)
    subscription_tier = models.CharField(max_length=32, default="free")
    monthly_job_limit = models.PositiveIntegerField(
        null=True, blank=True, help_text="Blank: the tier's default."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def job_limit(self) -> int:
        if self.monthly_job_limit is not None:
            return self.monthly_job_limit
        return int(settings.MONTHLY_JOB_LIMIT)


class Role(models.TextChoices):
    ADMIN = "admin", "Admin"
    UNDERWRITER = "underwriter", "Underwriter"
    VIEWER = "viewer", "Viewer"


class Membership(models.Model):
    """A dashboard user's organisation and role (one organisation per user)."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="membership")
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.UNDERWRITER)

    def __str__(self) -> str:
        return f"{self.user} ({self.role} of {self.organization})"

    @property
    def can_write(self) -> bool:
        return self.role in {Role.ADMIN, Role.UNDERWRITER}


def hash_key(raw_key: str) -> str:
    """Keys carry 192 random bits, so a fast hash is enough to make a leaked table useless."""
    return hashlib.sha256(raw_key.encode()).hexdigest()


class ApiKeyQuerySet(models.QuerySet["ApiKey"]):
    def usable(self) -> ApiKeyQuerySet:
        return self.filter(revoked_at__isnull=True).filter(
            models.Q(expires_at__isnull=True) | models.Q(expires_at__gt=timezone.now())
        )


class ApiKey(models.Model):
    """An integration's credential. Only its hash and a short readable prefix are stored."""

    SCOPES = ("read", "write")

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=32, db_index=True, editable=False)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    scopes = models.JSONField(default=list)
    rate_limit_per_minute = models.PositiveIntegerField(
        null=True, blank=True, help_text="Blank: the RATE_LIMIT_PER_MINUTE default."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    # The key this one replaced when it was rotated; its `replacements` are the way back.
    rotated_from = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        editable=False,
        on_delete=models.SET_NULL,
        related_name="replacements",
    )

    objects = ApiKeyQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "API key"

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @classmethod
    def create_key(
        cls,
        organization: Organization,
        *,
        name: str,
        scopes: list[str] | None = None,
        live: bool = True,
        expires_at: datetime | None = None,
    ) -> tuple[ApiKey, str]:
        """Create a key and return it with the full secret, which is never stored or shown again."""
        scopes = list(scopes if scopes is not None else cls.SCOPES)
        key = cls(organization=organization, name=name, scopes=scopes, expires_at=expires_at)
        raw = key.set_new_secret(live=live)
        key.save(force_insert=True)
        return key, raw

    def set_new_secret(self, *, live: bool = True) -> str:
        """Give this unsaved key a fresh secret and return it in full: only its hash is kept."""
        raw = ("dsk_live_" if live else "dsk_test_") + secrets.token_urlsafe(24)
        self.prefix = raw[:DISPLAY_PREFIX_LENGTH]
        self.key_hash = hash_key(raw)
        return raw

    @property
    def is_usable(self) -> bool:
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > timezone.now())

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes

    @property
    def rate_limit(self) -> int:
        return self.rate_limit_per_minute or int(settings.RATE_LIMIT_PER_MINUTE)

    def revoke(self) -> None:
        if self.revoked_at is None:
            self.revoked_at = timezone.now()
            self.save(update_fields=["revoked_at"])

    def rotate(self) -> tuple[ApiKey, str]:
        """Issue a replacement (same organisation, name, scopes, limits, expiry) and let this
        key expire after ROTATION_GRACE, or sooner if it already would. Returns the new key and its
        full secret. Refuses (ValueError) a key that is revoked or expired.
        """
        with transaction.atomic():
            old = ApiKey.objects.select_for_update(no_key=True).select_related("organization").get(pk=self.pk)
            if not old.is_usable:
                raise ValueError(f"{old} is revoked or expired; create a new key instead.")
            new, raw = ApiKey.create_key(
                old.organization,
                name=old.name,
                scopes=list(old.scopes),
                live=old.prefix.startswith("dsk_live_"),
                expires_at=old.expires_at,
            )
            new.rate_limit_per_minute = old.rate_limit_per_minute
            new.rotated_from = old
            new.save(update_fields=["rate_limit_per_minute", "rotated_from"])
            cutoff = timezone.now() + ROTATION_GRACE
            if old.expires_at is None or old.expires_at > cutoff:
                old.expires_at = cutoff
                old.save(update_fields=["expires_at"])
        self.expires_at = old.expires_at
        return new, raw

    def touch(self) -> None:
        """Record use, writing at most once per LAST_USED_RESOLUTION."""
        now = timezone.now()
        if self.last_used_at is not None and now - self.last_used_at < LAST_USED_RESOLUTION:
            return
        # The filter makes concurrent requests race for one write instead of each writing.
        stale = models.Q(last_used_at__isnull=True) | models.Q(last_used_at__lt=now - LAST_USED_RESOLUTION)
        ApiKey.objects.filter(stale, pk=self.pk).update(last_used_at=now)
        self.last_used_at = now
