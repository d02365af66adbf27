"""Webhook signatures (Standard Webhooks): verify a delivery, or sign one (`dealstream listen`).

from dealstream import verify_webhook, WebhookVerificationError

try:
    event = verify_webhook(request.body, request.headers, "whsec_…")
except WebhookVerificationError:
    return 400
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from typing import Any

__all__ = ["DEFAULT_TOLERANCE_SECONDS", "WebhookVerificationError", "sign_webhook", "verify_webhook"]

SECRET_PREFIX = "whsec_"  # noqa: S105 - the prefix of every secret, not a secret
# A delivery older or newer than this is refused: a captured request cannot be replayed later.
DEFAULT_TOLERANCE_SECONDS = 5 * 60


class WebhookVerificationError(Exception):
    """The request is not a genuine, fresh delivery; `str(error)` says why."""


def _key(secret: str) -> bytes:
    try:
        return base64.b64decode(secret.removeprefix(SECRET_PREFIX), validate=True)
    except (binascii.Error, ValueError):
        raise WebhookVerificationError("The webhook secret is not a valid whsec_ secret") from None


def _signature(msg_id: str, timestamp: str, payload: bytes, secret: str) -> bytes:
    signed = f"{msg_id}.{timestamp}.".encode() + payload
    return hmac.new(_key(secret), signed, hashlib.sha256).digest()


def sign_webhook(msg_id: str, timestamp: int, payload: bytes, secret: str) -> str:
    """The `webhook-signature` value of a payload: `v1,<base64 HMAC-SHA256>`."""
    return "v1," + base64.b64encode(_signature(msg_id, str(timestamp), payload, secret)).decode("ascii")


def _header(headers: Mapping[str, str], name: str) -> str:
    for key, value in headers.items():
        if key.lower() == name:
            return value
    raise WebhookVerificationError(f"The request has no {name} header")


def verify_webhook(
    payload: bytes | str,
    headers: Mapping[str, str],
    secret: str,
    *,
    tolerance: float = DEFAULT_TOLERANCE_SECONDS,
    now: float | None = None,
) -> Any:
    """Check a delivery's signature and freshness and return its parsed JSON body.

    `payload` is the raw request body, exactly as received (parse it only afterwards).
    `headers` need `webhook-id`, `webhook-timestamp` and `webhook-signature` (any case).
    Raises WebhookVerificationError when a header is missing, the timestamp is further
    than `tolerance` seconds from now, or no signature matches `secret`.
    """
    body = payload.encode() if isinstance(payload, str) else bytes(payload)
    msg_id = _header(headers, "webhook-id")
    timestamp = _header(headers, "webhook-timestamp")
    signatures = _header(headers, "webhook-signature")
    try:
        sent_at = int(timestamp)
    except ValueError:
        raise WebhookVerificationError("The webhook-timestamp header is not a Unix time") from None
    current = time.time() if now is None else now
    if abs(current - sent_at) > tolerance:
        raise WebhookVerificationError(f"The webhook timestamp is more than {tolerance:g} s away from now")
    expected = _signature(msg_id, timestamp, body, secret)
    for candidate in signatures.split():
        version, _, encoded = candidate.partition(",")
        if version != "v1":
            continue
        try:
            received = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            continue
        if hmac.compare_digest(received, expected):
            try:
                return json.loads(body)
            except ValueError:
                raise WebhookVerificationError("The webhook body is not JSON") from None
    raise WebhookVerificationError("No webhook signature matches the secret")
