"""Who may read Prometheus metrics: one rule for the web `/metrics` and every worker's port."""

from __future__ import annotations

import hmac
import ipaddress

from django.conf import settings

Refusal = tuple[int, str, str]


def is_loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


def metrics_refusal(authorization: str, remote_addr: str) -> Refusal | None:
    """None when the caller may read metrics, else (status, error code, message).

    With METRICS_TOKEN set, the bearer token is required from everyone; unset, only
    loopback clients are served, so an exporter is never open to the network by default.
    """
    token = settings.METRICS_TOKEN
    if token:
        presented = authorization.removeprefix("Bearer ").strip()
        if not hmac.compare_digest(presented.encode(), token.encode()):
            return 401, "unauthenticated", "Send 'Authorization: Bearer <METRICS_TOKEN>'."
        return None
    if not is_loopback(remote_addr):
        return 403, "forbidden", "Metrics are served to loopback clients unless METRICS_TOKEN is set."
    return None
