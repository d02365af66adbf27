"""Brute-force protection for password logins (dashboard and admin), counted in the cache.

Failures are counted per account (the username, whatever its case) and per client
address. Once either count reaches its limit within LOGIN_LOCKOUT_SECONDS, every login
for that account or from that address is refused, even with the right password, until
the lockout expires by itself. A successful login clears its account's count.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from typing import Any

from django import forms
from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm
from django.core.cache import cache
from django.http import HttpRequest

logger = logging.getLogger(__name__)

PREFIX = "login-failures"


def _subjects(request: HttpRequest | None, username: str) -> list[tuple[str, int]]:
    """The counters a login attempt is charged to, with their limits."""
    # Hashed: a username is attacker-chosen text of any length, not a cache key.
    account = hashlib.sha256(username.strip().casefold().encode()).hexdigest()[:32]
    subjects = [(f"account:{account}", int(settings.LOGIN_MAX_FAILURES_PER_ACCOUNT))]
    address = request.META.get("REMOTE_ADDR") if request is not None else None
    subjects.append((f"address:{address or 'unknown'}", int(settings.LOGIN_MAX_FAILURES_PER_ADDRESS)))
    return subjects


def lockout_remaining(request: HttpRequest | None, username: str) -> int:
    """Seconds until this account and this address may try again (0: now)."""
    try:
        until = cache.get_many([f"{PREFIX}:locked:{subject}" for subject, _ in _subjects(request, username)])
    except Exception:
        # Like the API's rate limit, the counters fail open: losing the cache must not
        # lock everybody out. The log says so.
        logger.warning("Login throttling unavailable; attempt allowed", exc_info=True)
        return 0
    remaining = max((float(value) - time.time() for value in until.values()), default=0.0)
    return max(0, math.ceil(remaining))


def record_failure(request: HttpRequest | None, username: str) -> None:
    """Count a failed login; lock the account or address that reached its limit."""
    window = int(settings.LOGIN_LOCKOUT_SECONDS)
    try:
        for subject, limit in _subjects(request, username):
            key = f"{PREFIX}:count:{subject}"
            cache.add(key, 0, window)  # the window starts at the first failure
            if cache.incr(key) >= limit:
                cache.set(f"{PREFIX}:locked:{subject}", time.time() + window, window)
                cache.delete(key)
                logger.warning("Password logins locked for %s seconds after %s failures", window, limit)
    except Exception:
        logger.warning("Could not count a failed login", exc_info=True)


def clear_failures(request: HttpRequest | None, username: str) -> None:
    """Forget the account's failures after a successful login (the address keeps its count)."""
    account, _ = _subjects(request, username)[0]
    try:
        cache.delete(f"{PREFIX}:count:{account}")
    except Exception:
        logger.warning("Could not clear failed logins", exc_info=True)


def lockout_message(seconds: int) -> str:
    minutes = max(1, math.ceil(seconds / 60))
    return (
        "Too many failed sign-in attempts for this account or from this address. "
        f"Try again in {minutes} minute{'s' if minutes != 1 else ''}."
    )


class ThrottledLoginMixin:
    """Refuses locked-out attempts before checking the password, and counts failures."""

    request: HttpRequest | None
    cleaned_data: dict[str, Any]

    def clean(self) -> dict[str, Any]:
        username = str(self.cleaned_data.get("username") or "")
        remaining = lockout_remaining(self.request, username)
        if remaining:
            raise forms.ValidationError(lockout_message(remaining), code="too_many_attempts")
        try:
            cleaned: dict[str, Any] = super().clean()  # type: ignore[misc]
        except forms.ValidationError:
            record_failure(self.request, username)
            raise
        clear_failures(self.request, username)
        return cleaned


class ThrottledAuthenticationForm(ThrottledLoginMixin, AuthenticationForm):
    """The dashboard's login form."""


class ThrottledAdminAuthenticationForm(ThrottledLoginMixin, AdminAuthenticationForm):
    """The admin's login form."""
