"""Findings 1, 4, 5 and 12 against a real uvicorn process configured for production, in
both log formats: its whole output (access log included) carries no key, a chunked body
is cut off at the cap over a real socket, and the security headers are sent."""

from __future__ import annotations

import select
import socket
import time
from collections.abc import Iterator
from urllib.parse import urlparse

import httpx
import pytest

from api.logging import LOG_FORMATS
from tests.e2e.stack import Stack, embedded_stack
from tests.log_leaks import leaked_keys

pytestmark = pytest.mark.e2e

MB = 1024 * 1024


@pytest.fixture(scope="module", params=LOG_FORMATS)
def production(request: pytest.FixtureRequest) -> Iterator[tuple[Stack, str]]:
    with embedded_stack(
        APP_ENV="production",
        SECRET_KEY="a-production-secret-for-this-test-only-0123456789abcdef",
        LOG_FORMAT=request.param,
    ) as stack:
        yield stack, stack.start_web("uvicorn")


def _send_endless_chunked_body(base: str, path: str, give_up_after: int) -> tuple[bytes, int]:
    """POST a chunked body until the server answers; its answer and the bytes we got out."""
    url = urlparse(base)
    sent = 0
    chunk = b"x" * (64 * 1024)
    frame = b"%x\r\n%s\r\n" % (len(chunk), chunk)
    with socket.create_connection((url.hostname, url.port or 80), timeout=10) as sock:
        sock.sendall(
            f"POST {path} HTTP/1.1\r\nHost: {url.hostname}\r\nContent-Type: application/zip\r\n"
            "Transfer-Encoding: chunked\r\n\r\n".encode()
        )
        while sent < give_up_after:
            readable, _, _ = select.select([sock], [], [], 0)
            if readable:
                break
            try:
                sock.sendall(frame)
            except (BrokenPipeError, ConnectionResetError):
                break
            sent += len(chunk)
        sock.settimeout(10)
        answer = b""
        # The server closes the connection after its answer (the body is never read).
        while True:
            try:
                data = sock.recv(65536)
            except ConnectionResetError:
                break
            if not data:
                break
            answer += data
    return answer, sent


def test_it_serves_production_safely(production: tuple[Stack, str]) -> None:
    stack, base = production
    key = stack.create_key()
    encoded = key.replace("_", "%5F")

    with httpx.Client(base_url=base, timeout=10) as http:
        health = http.get("/healthz")
        assert health.headers["strict-transport-security"].startswith("max-age=31536000")
        assert "script-src 'self'" in health.headers["content-security-policy"]
        # Logged 4xx carrying the key in the query, in every spelling.
        for query in (f"token={key}", f"api%5Fkey={encoded}", f"%74oken={encoded}"):
            assert http.get(f"/api/v1/events/deals/999999?{query}").status_code == 404
        assert http.get(f"/api/v1/deals?api_key={key}").status_code == 401

    answer, sent = _send_endless_chunked_body(base, "/api/v1/batches", give_up_after=400 * MB)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert b'"code": "upload_too_large"' in answer
    assert sent < 200 * MB  # the 100 MB batch cap, plus what socket buffers absorb

    time.sleep(0.5)  # the access lines of the last requests
    output = stack.logs()
    assert "/api/v1/events/deals/999999?token=[redacted]" in output
    assert "api%5Fkey=[redacted]" in output
    assert key[9:] not in output
    assert encoded[11:] not in output
    assert not leaked_keys(output), output[-3000:]
