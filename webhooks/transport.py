"""Sending one webhook request through the SSRF-safe outbound client.

The one function here, `post`, is the only network call of webhook delivery. The rules are
`outbound.http`'s: http(s) only, every address the host resolves to must be public (unless
allowed), the connection goes to exactly the checked address, redirects are not followed (a
3xx is just a failed delivery) and the answer's body is not read beyond its first 64 KB.
"""

from __future__ import annotations

from outbound import http

USER_AGENT = "Dealstream-Webhooks/1.0"
# A receiver's answer is not used: a small cap keeps a misbehaving one from costing memory.
MAX_RESPONSE_BYTES = 64 * 1024


def post(
    url: str, body: bytes, headers: dict[str, str], *, allow_private: bool, timeout: float
) -> http.Response:
    """POST `body` to `url`; any HTTP answer is a Response, anything else an OutboundError."""
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
