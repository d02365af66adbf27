"""Sending one webhook request through the SSRF-safe outbound client.

The one function here, `post`, is the only network call of webhook delivery. The rules are
`outbound.http`'s: http(s) only, every address the host resolves to must be public (unless
allowed), the connection goes to exactly the checked address, redirects are not followed (a
3xx is just a failed delivery) and the answer's body is not read beyond its first 64 KB.
"""

from __future__ import annotations

from outbound import http
from outbound.http import IPAddress, OutboundError, Response

USER_AGENT = "Dealstream-Webhooks/1.0"
# A receiver's answer is not used: a small cap keeps a misbehaving one from costing memory.
MAX_RESPONSE_BYTES = 64 * 1024

__all__ = ["DeliveryError", "Response", "check_destination", "post"]


class DeliveryError(Exception):
    """The request could not be made or got no answer; `message` is fit for the delivery log."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def check_destination(url: str, *, allow_private: bool, timeout: float) -> list[IPAddress]:
    """The addresses `url` may be sent to; raises DeliveryError when the rules refuse it."""
    try:
        return http.check_destination(url, allow_private=allow_private, timeout=timeout)
    except OutboundError as exc:
        raise DeliveryError(exc.message) from None


def post(url: str, body: bytes, headers: dict[str, str], *, allow_private: bool, timeout: float) -> Response:
    """POST `body` to `url`; any HTTP answer is a Response, anything else a DeliveryError."""
    try:
        return http.request(
            "POST",
            url,
            body=body,
            headers={"User-Agent": USER_AGENT, **headers},
            allow_private=allow_private,
            timeout=timeout,
            max_bytes=MAX_RESPONSE_BYTES,
            # A 2xx is a delivery however long the answer: only its start is kept for the log.
            truncate=True,
        )
    except OutboundError as exc:
        raise DeliveryError(exc.message) from None
