"""Fetch a product page: the one network call of valuations.

`fetch_page` goes through the SSRF-safe client in `outbound.http`: it follows at most five
redirects (each hop checked again from the start) under one deadline and decodes the HTML.
Its failures are `ProductReadError`s whose message is fit for the client.
"""

from __future__ import annotations

import codecs
import re
import time
from typing import Final
from urllib.parse import urljoin

from outbound import http
from valuations.scoring import SCORER_VERSION

MAX_REDIRECTS: Final = 5
USER_AGENT: Final = f"DealstreamValuation/{SCORER_VERSION} (+product value decisions)"
_PAGE_HEADERS: Final = {
    "User-Agent": USER_AGENT,
    "Accept": "text/html,application/xhtml+xml;q=0.9,*/*;q=0.1",
    "Accept-Language": "en",
}
_REDIRECT_STATUSES: Final = frozenset({301, 302, 303, 307, 308})

UNREACHABLE: Final = "The page could not be reached"

#: What the client's failures mean for a product page; a URL refused before any request
#: (`invalid_url`, `not_allowed`) keeps the client's own words.
_PAGE_MESSAGES: Final[dict[http.Failure, str]] = {
    "timeout": "The page took too long to answer",
    "unreachable": UNREACHABLE,
    "host_not_found": "The page's host name could not be found",
    "unsupported_encoding": "The page used a compression we do not read",
    "corrupt_body": "The page's compressed content could not be read",
}


class ProductReadError(Exception):
    """The product could not be read; `message` is plain language fit for a client."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


_META_CHARSET: Final = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_\-:.]+)""", re.IGNORECASE)


def _decode(body: bytes, content_type: str) -> str:
    """Bytes to text: the header's charset, else a BOM, else <meta charset>, else UTF-8."""
    charset = None
    match = re.search(r"charset\s*=\s*\"?([A-Za-z0-9_\-:.]+)", content_type, re.IGNORECASE)
    if match:
        charset = match.group(1)
    elif body.startswith(codecs.BOM_UTF8):
        charset = "utf-8-sig"
    elif body.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        charset = "utf-16"
    else:
        meta = _META_CHARSET.search(body[:4096])
        if meta:
            charset = meta.group(1).decode("ascii")
    try:
        codecs.lookup(charset or "utf-8")
    except LookupError:
        charset = None
    return body.decode(charset or "utf-8", errors="replace")


def fetch_page(url: str, *, allow_private: bool, timeout: float = 5.0, max_bytes: int = 2_000_000) -> str:
    """The HTML at `url`, fetched under the rules in the module docstring.

    `timeout` is the deadline for the whole fetch, redirects included.
    Raises ProductReadError with a plain-language message on any failure.
    """
    deadline = time.monotonic() + timeout
    current = url
    for _hop in range(MAX_REDIRECTS + 1):
        try:
            answer = http.request(
                "GET",
                current,
                headers=_PAGE_HEADERS,
                allow_private=allow_private,
                timeout=deadline - time.monotonic(),
                max_bytes=max_bytes,
            )
        except http.OutboundError as exc:
            if exc.reason == "too_large":
                raise ProductReadError(f"The page is larger than {max_bytes / 1_000_000:g} MB") from None
            raise ProductReadError(_PAGE_MESSAGES.get(exc.reason, exc.message)) from None
        if answer.status in _REDIRECT_STATUSES:
            location = answer.headers.get("location", "").strip()
            if not location:
                raise ProductReadError(UNREACHABLE)
            current = urljoin(current, location)
            continue
        if not 200 <= answer.status < 300:
            raise ProductReadError(f"The page answered with HTTP status {answer.status}")
        content_type = answer.headers.get("content-type", "")
        if content_type and not re.search(r"html|xml", content_type, re.IGNORECASE):
            raise ProductReadError("The URL did not return a web page")
        return _decode(answer.body, content_type)
    raise ProductReadError(f"The page redirected more than {MAX_REDIRECTS} times")
