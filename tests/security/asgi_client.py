"""Drives the real ASGI application (`config.asgi:application`) in-process, as a server would:
headers, a body (whole or in chunks, with or without Content-Length), and the response."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from config.asgi import application


@dataclass
class Exchange:
    status: int = 0
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    #: Request-body bytes the application pulled from the "socket".
    body_bytes_read: int = 0

    def json(self) -> Any:
        return json.loads(self.body)


def call(
    method: str,
    path: str,
    *,
    query: str = "",
    headers: dict[str, str] | None = None,
    body: bytes = b"",
    chunks: Iterable[bytes] | None = None,
    host: str = "testserver",
    until: Callable[[bytes], bool] | None = None,
    timeout: float = 15,
) -> Exchange:
    """One request. `chunks` sends a chunked body (no Content-Length), possibly endless;
    `until` ends a streamed response (SSE) once the body read so far satisfies it."""
    exchange = Exchange()
    all_headers = {"host": host, **{k.lower(): v for k, v in (headers or {}).items()}}
    if chunks is None and body:
        all_headers.setdefault("content-length", str(len(body)))

    def messages() -> Iterable[dict[str, Any]]:
        if chunks is None:
            yield {"type": "http.request", "body": body, "more_body": False}
            return
        for chunk in chunks:
            yield {"type": "http.request", "body": chunk, "more_body": True}
        yield {"type": "http.request", "body": b"", "more_body": False}

    async def run() -> None:
        pending = iter(messages())
        done = asyncio.Event()

        async def receive() -> dict[str, Any]:
            message = next(pending, None)
            if message is not None:
                exchange.body_bytes_read += len(message["body"])
                return message
            await done.wait()
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                exchange.status = message["status"]
                exchange.headers = {k.decode().lower(): v.decode() for k, v in message["headers"]}
            elif message["type"] == "http.response.body":
                exchange.body += message.get("body", b"")
                if not message.get("more_body") or (until is not None and until(exchange.body)):
                    done.set()

        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": method,
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": query.encode(),
            "root_path": "",
            "headers": [(k.encode(), v.encode()) for k, v in all_headers.items()],
            "client": ("127.0.0.1", 50000),
            "server": ("testserver", 80),
        }
        await asyncio.wait_for(application(scope, receive, send), timeout)

    asyncio.run(run())
    return exchange
