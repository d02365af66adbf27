"""Per-key request rate limit (django-ratelimit counters) and the X-RateLimit-* headers."""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django_ratelimit.core import get_usage
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

from accounts.models import ApiKey
from core import metrics

logger = logging.getLogger(__name__)

GROUP = "api"
WINDOW_SECONDS = 60


@dataclass(frozen=True)
class RateLimitUsage:
    limit: int
    remaining: int
    reset_at: int  # epoch seconds when the window resets
    limited: bool

    @property
    def retry_after(self) -> int:
        return max(1, self.reset_at - int(time.time()))

    def headers(self) -> dict[str, str]:
        headers = {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(self.reset_at),
        }
        if self.limited:
            headers["Retry-After"] = str(self.retry_after)
        return headers


def principal_of(api_key: ApiKey | None, user: Any, request: HttpRequest) -> tuple[str, int]:
    """The counter's identity and its per-minute limit.

    A key counts against itself, a dashboard user against themself; a caller without a
    usable credential against its client address, so guessing keys from one address is
    slowed down as well and every refusal still carries the X-RateLimit-* headers.
    """
    if api_key is not None:
        return f"key:{api_key.pk}", api_key.rate_limit
    if getattr(user, "is_authenticated", False):
        return f"user:{user.pk}", int(settings.RATE_LIMIT_PER_MINUTE)
    address = request.META.get("REMOTE_ADDR") or "unknown"
    return f"addr:{address}", int(settings.RATE_LIMIT_UNAUTHENTICATED_PER_MINUTE)


def consume(request: HttpRequest, identity: str, limit: int) -> RateLimitUsage:
    """Count one request against `identity` and remember the usage for the response headers."""
    try:
        usage = get_usage(
            request,
            group=GROUP,
            key=lambda _group, _request: identity,
            rate=f"{limit}/{WINDOW_SECONDS}s",
            increment=True,
        )
    except Exception:
        # The counters live in the cache (Redis when distributed). Losing it must not take
        # the API down with it: fail open, say so in the logs, and /status reports Redis.
        logger.warning("Rate-limit counters unavailable; request allowed", exc_info=True)
        usage = None
    if usage is None:  # RATELIMIT_ENABLE=False, or counters unavailable: a fresh window
        usage = {"count": 0, "time_left": WINDOW_SECONDS, "should_limit": False}
    return record_usage(
        request,
        RateLimitUsage(
            limit=limit,
            remaining=max(0, limit - int(usage["count"])),
            reset_at=int(time.time()) + math.ceil(usage["time_left"]),
            limited=bool(usage["should_limit"]),
        ),
    )


def record_usage(request: HttpRequest, usage: RateLimitUsage) -> RateLimitUsage:
    """Keep a request's counted usage for its response headers (and count a refusal)."""
    if usage.limited:
        metrics.RATE_LIMIT_REJECTIONS.inc()
    request.ratelimit_usage = usage  # type: ignore[attr-defined]
    return usage


class ApiKeyRateThrottle(BaseThrottle):
    """DRF throttle over `consume`, so DRF answers 429 with Retry-After through our envelope."""

    def allow_request(self, request: Request, view: Any) -> bool:
        self.usage = consume_for(request)
        return not self.usage.limited

    def wait(self) -> float | None:
        return float(self.usage.retry_after)


def consume_for(request: Request) -> RateLimitUsage:
    """Count a DRF request against its caller (its key, its user, or its address)."""
    api_key = request.auth if isinstance(request.auth, ApiKey) else None
    return consume(request._request, *principal_of(api_key, request.user, request._request))


def count_refused(request: Request) -> RateLimitUsage | None:
    """Count a request DRF refused before its throttle ran (401, 403), or None if already counted.

    DRF checks credentials and permissions before throttles; without this, those refusals
    would carry no X-RateLimit-* headers and would cost a key-guessing caller nothing.
    """
    if getattr(request._request, "ratelimit_usage", None) is not None:
        return None
    return consume_for(request)
