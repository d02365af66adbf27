"""Sending one webhook request under the SSRF rules of product-page fetching.

The one function here, `post`, is the only network call of webhook delivery: http(s) only,
every address the host resolves to must be public (unless allowed), the connection goes to
exactly the checked address (a second DNS answer cannot swap it), redirects are not followed
(a 3xx is just a failed delivery) and the answer's body is not read beyond a few KB.
"""

from __future__ import annotations

import functools
import ipaddress
import ssl
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import certifi
import httpcore

from valuations.product_page import ProductReadError, check_url, is_public_address, resolve_host

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

USER_AGENT = "Dealstream-Webhooks/1.0"
# A receiver's answer is not used: reading a little of it lets the connection close cleanly.
MAX_RESPONSE_BYTES = 64 * 1024
_BLOCKED_HOSTS = frozenset({"localhost", "metadata", "metadata.google.internal"})
_BLOCKED_SUFFIXES = (".localhost", ".internal", ".local")


class DeliveryError(Exception):
    """The request could not be made or got no answer; `message` is fit for the delivery log."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Response:
    status: int
    elapsed: float  # seconds


@dataclass(frozen=True)
class _Target:
    scheme: str
    host: str  # IDNA-encoded, IPv6 without brackets
    port: int
    path: str

    def url(self) -> httpcore.URL:
        return httpcore.URL(
            scheme=self.scheme.encode(), host=self.host.encode(), port=self.port, target=self.path.encode()
        )


def _target(url: str) -> _Target:
    try:
        check_url(url)
    except ProductReadError as exc:
        raise DeliveryError(exc.message) from None
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    try:
        host = (parts.hostname or "").rstrip(".").encode("idna").decode("ascii").lower()
    except UnicodeError:
        raise DeliveryError("The URL is not valid") from None
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    if not path.isascii():
        raise DeliveryError("The URL's path must be ASCII (percent-encode it)")
    return _Target(scheme, host, parts.port or (443 if scheme == "https" else 80), path)


def check_destination(url: str, *, allow_private: bool, timeout: float) -> list[IPAddress]:
    """The addresses `url` may be sent to; raises DeliveryError when the rules refuse it."""
    target = _target(url)
    host, port = target.host, target.port
    if not allow_private and (host in _BLOCKED_HOSTS or host.endswith(_BLOCKED_SUFFIXES)):
        raise DeliveryError("The URL points to a private address")
    try:
        # An address in the URL needs no lookup (nor the resolver thread one costs).
        addresses: list[IPAddress] = [ipaddress.ip_address(host)]
    except ValueError:
        try:
            addresses = resolve_host(host, port, timeout=timeout)
        except ProductReadError:
            raise DeliveryError("The URL's host name could not be found") from None
    # Every answer must pass: one public and one private address could still lead inside.
    if not allow_private and not all(is_public_address(address) for address in addresses):
        raise DeliveryError("The URL points to a private address")
    return addresses


@functools.cache
def _ssl_context() -> ssl.SSLContext:
    # Built once: loading the CA bundle costs tens of milliseconds, more than a delivery.
    return ssl.create_default_context(cafile=certifi.where())


class _PinnedBackend(httpcore.SyncBackend):
    """Connects to the checked addresses whatever host httpcore asks for (TLS still checks the name)."""

    def __init__(self, addresses: list[IPAddress]) -> None:
        self._addresses = addresses

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        last_error: Exception = httpcore.ConnectError("no address to connect to")
        for address in self._addresses:
            try:
                return super().connect_tcp(str(address), port, timeout, local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last_error = exc
        raise last_error


def post(url: str, body: bytes, headers: dict[str, str], *, allow_private: bool, timeout: float) -> Response:
    """POST `body` to `url`; any HTTP answer is a Response, anything else a DeliveryError."""
    started = time.monotonic()
    target = _target(url)
    addresses = check_destination(url, allow_private=allow_private, timeout=timeout)
    request_headers = [
        (b"User-Agent", USER_AGENT.encode()),
        *((k.encode(), v.encode()) for k, v in headers.items()),
    ]
    left = max(timeout - (time.monotonic() - started), 0.1)
    timeouts = {"connect": left, "read": left, "write": left, "pool": left}
    try:
        with (
            httpcore.ConnectionPool(
                ssl_context=_ssl_context(), network_backend=_PinnedBackend(addresses), max_connections=1
            ) as pool,
            pool.stream(
                "POST",
                target.url(),
                headers=request_headers,
                content=body,
                extensions={"timeout": timeouts},
            ) as response,
        ):
            received = 0
            for chunk in response.iter_stream():
                received += len(chunk)
                if received > MAX_RESPONSE_BYTES or time.monotonic() - started > timeout:
                    break
            return Response(response.status, time.monotonic() - started)
    except httpcore.TimeoutException:
        raise DeliveryError(f"No answer within {timeout:g} s") from None
    except (httpcore.NetworkError, httpcore.ProtocolError, httpcore.UnsupportedProtocol) as exc:
        raise DeliveryError(f"The endpoint could not be reached ({type(exc).__name__})") from None
