"""One HTTP request to a server we do not trust, with SSRF protection and hard limits.

`request` accepts only http(s), refuses private, loopback, link-local and other non-public
addresses (checking every address a host name resolves to, then connecting to exactly the
checked address so a second DNS answer cannot swap it), never follows a redirect (a caller
that does re-checks each hop by calling it again), caps the response body while it streams,
and holds DNS, connect, TLS, writing and reading to one deadline.
"""

from __future__ import annotations

import functools
import ipaddress
import socket
import ssl
import threading
import time
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal
from urllib.parse import quote, urlsplit

import certifi
import httpcore

#: One connection attempt may use at most this long, so a black-holed first
#: address leaves time to try the next one before the overall deadline.
CONNECT_ATTEMPT_SECONDS: Final = 3.0
USER_AGENT: Final = "Dealstream"


#: Why a request failed: a URL refused before any network (`invalid_url`, `not_allowed`),
#: then `host_not_found`, `timeout`, `unreachable` (no connection, or the protocol broke),
#: `too_large` (body over `max_bytes`), `unsupported_encoding`, `corrupt_body`.
Failure = Literal[
    "invalid_url",
    "not_allowed",
    "host_not_found",
    "timeout",
    "unreachable",
    "too_large",
    "unsupported_encoding",
    "corrupt_body",
]


class OutboundError(Exception):
    """The request could not be made or answered: `reason` says why, `message` in plain words."""

    def __init__(self, reason: Failure, message: str) -> None:
        super().__init__(message)
        self.reason: Failure = reason
        self.message = message


@dataclass(frozen=True)
class Response:
    """A server's answer: header names lower-cased, body decoded from gzip/deflate."""

    status: int
    headers: dict[str, str]
    body: bytes
    elapsed: float


# --------------------------------------------------------------------------
# Where we may connect
# --------------------------------------------------------------------------

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

PRIVATE_ADDRESS: Final = "The URL points to a private address"

_NAT64_PREFIX: Final = ipaddress.IPv6Network("64:ff9b::/96")
#: Special-purpose IPv4 ranges that `is_global` lets through in some Python
#: versions: IETF protocol assignments (incl. 192.0.0.192, an older cloud
#: metadata address), "this network" and shared address space.
_EXTRA_BLOCKED: Final = (
    ipaddress.IPv4Network("192.0.0.0/24"),
    ipaddress.IPv4Network("0.0.0.0/8"),
    ipaddress.IPv4Network("100.64.0.0/10"),
)
#: Names that are private by definition, refused before any lookup.
_BLOCKED_HOSTS: Final = frozenset({"localhost", "metadata", "metadata.google.internal"})
_BLOCKED_HOST_SUFFIXES: Final = (".localhost", ".internal", ".local")


def is_public_address(address: IPAddress) -> bool:
    """Whether an address is on the public internet.

    Refuses private, loopback, link-local (which holds the 169.254.169.254
    cloud metadata service), shared (100.64/10), reserved, multicast and
    unspecified addresses, and IPv6 forms that embed a refused IPv4 address
    (::ffff:127.0.0.1, NAT64, 6to4, Teredo).
    """
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return is_public_address(address.ipv4_mapped)
        embedded: list[ipaddress.IPv4Address] = []
        if address in _NAT64_PREFIX:
            embedded.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
        if address.sixtofour is not None:
            embedded.append(address.sixtofour)
        if address.teredo is not None:
            embedded.append(address.teredo[1])
        if any(not is_public_address(inner) for inner in embedded):
            return False
    elif any(address in network for network in _EXTRA_BLOCKED):
        return False
    return address.is_global and not (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
    )


_PATH_SAFE: Final = "/%?=&;:@!$'()*+,~-._[]"


@dataclass(frozen=True)
class _Target:
    scheme: str
    host: str  # IDNA-encoded, IPv6 without brackets
    port: int
    path: str  # path and query, what goes on the request line

    @property
    def default_port(self) -> bool:
        return self.port == (443 if self.scheme == "https" else 80)

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.default_port else f"{host}:{self.port}"


def _parse_target(url: str) -> _Target:
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        raise OutboundError("invalid_url", "The URL is not valid") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise OutboundError("invalid_url", "Only http and https URLs are accepted")
    if not parts.hostname:
        raise OutboundError("invalid_url", "The URL has no host name")
    if parts.username is not None or parts.password is not None:
        # Credentials in a URL are a classic way to confuse URL parsers about the real host.
        raise OutboundError("invalid_url", "URLs with a user name or password are not accepted")
    try:
        host = parts.hostname.rstrip(".").encode("idna").decode("ascii")
    except UnicodeError:
        raise OutboundError("invalid_url", "The URL is not valid") from None
    # Percent-encode what a browser would (non-ASCII, spaces); existing escapes stay.
    path = quote(parts.path or "/", safe=_PATH_SAFE)
    if parts.query:
        path += "?" + quote(parts.query, safe=_PATH_SAFE)
    return _Target(scheme, host.lower(), port or (443 if scheme == "https" else 80), path)


def check_url(url: str) -> None:
    """Raise OutboundError ("invalid_url") unless `url` is an http(s) URL with a host and no credentials (no network)."""
    _parse_target(url)


def resolve_host(host: str, port: int, *, timeout: float) -> list[IPAddress]:
    """Every address `host` resolves to, in resolver order.

    getaddrinfo() has no timeout of its own, so it runs on a daemon thread we
    stop waiting for at the deadline (the thread ends when the resolver gives up).
    """
    answers: list[Any] = []
    failures: list[Exception] = []

    def lookup() -> None:
        try:
            answers.extend(socket.getaddrinfo(host, port, type=socket.SOCK_STREAM))
        except (OSError, UnicodeError) as exc:
            failures.append(exc)

    worker = threading.Thread(target=lookup, name="resolve-host", daemon=True)
    worker.start()
    worker.join(max(timeout, 0.0))
    if worker.is_alive():
        raise OutboundError("timeout", "The host name took too long to resolve")
    if failures or not answers:
        raise OutboundError("host_not_found", "The host name could not be found")
    # IPv6 link-local answers carry a "%scope" suffix; the address is what is checked.
    found = (ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0]) for *_, sockaddr in answers)
    return list(dict.fromkeys(found))  # each once, in resolver order


def _checked_addresses(target: _Target, *, allow_private: bool, deadline: float) -> list[IPAddress]:
    if not allow_private and (target.host in _BLOCKED_HOSTS or target.host.endswith(_BLOCKED_HOST_SUFFIXES)):
        raise OutboundError("not_allowed", PRIVATE_ADDRESS)
    addresses = resolve_host(target.host, target.port, timeout=deadline - time.monotonic())
    # Every answer must pass: otherwise a name resolving to one public and one
    # private address could still lead us inside.
    if not allow_private and not all(is_public_address(a) for a in addresses):
        raise OutboundError("not_allowed", PRIVATE_ADDRESS)
    return addresses


def check_destination(url: str, *, allow_private: bool, timeout: float) -> list[IPAddress]:
    """The addresses a request to `url` would connect to; raises OutboundError when refused.

    The same checks as `request` makes before connecting, for callers that vet a URL when it
    is stored (a webhook endpoint) rather than only when it is used.
    """
    return _checked_addresses(
        _parse_target(url), allow_private=allow_private, deadline=time.monotonic() + timeout
    )


# --------------------------------------------------------------------------
# Transport: pinned addresses and one deadline for every socket operation
# --------------------------------------------------------------------------


def _remaining(deadline: float, timeout: float | None) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        # settimeout(0) would make the socket non-blocking rather than time out.
        raise httpcore.ReadTimeout("deadline reached")
    return left if timeout is None else min(timeout, left)


class _DeadlineStream(httpcore.NetworkStream):
    """A socket stream whose every read and write ends by the request's deadline.

    httpcore's own read timeout restarts with each chunk, so a server dripping
    one byte a second would never trip it; capping each call at the time left
    makes the deadline hard.
    """

    def __init__(self, inner: httpcore.NetworkStream, deadline: float) -> None:
        self._inner = inner
        self._deadline = deadline

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _remaining(self._deadline, timeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _remaining(self._deadline, timeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self, ssl_context: ssl.SSLContext, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.NetworkStream:
        # server_hostname is the URL's host, so SNI and certificate checks use the name, not the IP.
        inner = self._inner.start_tls(ssl_context, server_hostname, _remaining(self._deadline, timeout))
        return _DeadlineStream(inner, self._deadline)

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _PinnedBackend(httpcore.NetworkBackend):
    """Connects to the addresses we checked, whatever host httpcore asks for.

    This is what defeats DNS rebinding: the name is resolved once, checked,
    and never looked up again for the connection.
    """

    def __init__(self, addresses: list[IPAddress], deadline: float) -> None:
        self._addresses = addresses
        self._deadline = deadline
        self._inner = httpcore.SyncBackend()

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
            attempt = min(_remaining(self._deadline, timeout), CONNECT_ATTEMPT_SECONDS)
            try:
                stream = self._inner.connect_tcp(
                    str(address),
                    port,
                    timeout=attempt,
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last_error = exc
                continue
            return _DeadlineStream(stream, self._deadline)
        raise last_error


@functools.cache
def _ssl_context() -> ssl.SSLContext:
    # Built once: loading the CA bundle takes tens of milliseconds.
    return ssl.create_default_context(cafile=certifi.where())


def _decompressor(content_encoding: str) -> Any:
    encoding = content_encoding.strip().lower()
    if encoding in ("", "identity"):
        return None
    if encoding in ("gzip", "x-gzip", "deflate"):
        # 32 + MAX_WBITS accepts both gzip and zlib headers.
        return zlib.decompressobj(32 + zlib.MAX_WBITS)
    raise OutboundError("unsupported_encoding", "The response used a compression we do not read")


def request(
    method: str,
    url: str,
    *,
    body: bytes | None = None,
    headers: Mapping[str, str] | None = None,
    allow_private: bool,
    timeout: float,
    max_bytes: int,
    truncate: bool = False,
) -> Response:
    """Send one request and return the answer, whatever its status; a redirect is not followed.

    `timeout` is the deadline for everything (DNS, connect, TLS, sending `body`, reading the
    answer); `max_bytes` caps the body, declared, on the wire and decoded: a longer body is an
    OutboundError, or with `truncate` is cut at the cap (for callers that only need the status
    and a prefix to show, such as a webhook delivery log). `allow_private`
    lifts the public-address rule (tests, local demos). Raises OutboundError.
    """
    started = time.monotonic()
    deadline = started + timeout
    target = _parse_target(url)
    if timeout <= 0:
        raise _timeout()
    addresses = _checked_addresses(target, allow_private=allow_private, deadline=deadline)
    sent = {"host": target.host_header, "user-agent": USER_AGENT, "accept-encoding": "gzip, deflate"}
    sent.update({name.lower(): value for name, value in (headers or {}).items()})
    address = httpcore.URL(
        scheme=target.scheme.encode(),
        host=target.host.encode(),
        port=None if target.default_port else target.port,
        target=target.path.encode("ascii"),
    )
    backend = _PinnedBackend(addresses, deadline)
    try:
        with (
            httpcore.ConnectionPool(
                ssl_context=_ssl_context(), network_backend=backend, max_connections=1
            ) as pool,
            pool.stream(
                method.upper(),
                address,
                headers=[(name.encode("latin-1"), value.encode("latin-1")) for name, value in sent.items()],
                content=body,
            ) as answer,
        ):
            answer_headers = {
                name.decode("latin-1").lower(): value.decode("latin-1") for name, value in answer.headers
            }
            content = _read_body(
                answer, answer_headers, max_bytes=max_bytes, deadline=deadline, truncate=truncate
            )
    except httpcore.TimeoutException:
        raise _timeout() from None
    except (httpcore.NetworkError, httpcore.ProtocolError):
        raise OutboundError("unreachable", "The server could not be reached") from None
    except zlib.error:
        raise OutboundError("corrupt_body", "The response's compressed content could not be read") from None
    return Response(answer.status, answer_headers, content, time.monotonic() - started)


def _timeout() -> OutboundError:
    return OutboundError("timeout", "The server took too long to answer")


def _too_large(max_bytes: int) -> OutboundError:
    return OutboundError("too_large", f"The response is larger than {max_bytes} bytes")


def _read_body(
    answer: httpcore.Response, headers: dict[str, str], *, max_bytes: int, deadline: float, truncate: bool
) -> bytes:
    declared = headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes and not truncate:
        raise _too_large(max_bytes)
    decoder = _decompressor(headers.get("content-encoding", ""))
    received = 0
    content = bytearray()
    for chunk in answer.iter_stream():
        received += len(chunk)
        # Bounded output per call: a small compressed body must not expand into
        # gigabytes in memory before we can count it.
        content += chunk if decoder is None else decoder.decompress(chunk, max_bytes + 1 - len(content))
        if received > max_bytes or len(content) > max_bytes:
            break  # the rest is never read: the connection closes with the pool
        if time.monotonic() > deadline:
            raise _timeout()
    else:
        if decoder is not None:
            content += decoder.flush()
    if received > max_bytes or len(content) > max_bytes:
        if truncate:
            return bytes(content[:max_bytes])
        raise _too_large(max_bytes)
    return bytes(content)
