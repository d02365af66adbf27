"""A scriptable HTTP server on 127.0.0.1 for the client's tests: JSON answers and SSE streams.

Each test hands it a function `handler(exchange, n)` called for every request (`n` counts
from 0); the function decides the answer byte by byte, including broken ones: a stream
closed without its final chunk, a connection that goes silent, a 204.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Seen:
    """A request as the server received it."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    at: float = field(default_factory=time.monotonic)

    def json(self) -> Any:
        return json.loads(self.body)


class Exchange:
    """One request/response; the handler's tools to answer."""

    def __init__(self, handler: _Handler, seen: Seen, stopping: threading.Event) -> None:
        self._handler = handler
        self.request = seen
        self._stopping = stopping
        self._chunked = False

    def json(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        payload = json.dumps(body).encode()
        self._head(
            status,
            {"Content-Type": "application/json", "Content-Length": str(len(payload)), **(headers or {})},
        )
        self._handler.wfile.write(payload)
        self._handler.wfile.flush()

    def error(self, status: int, code: str, message: str = "nope", **extra: Any) -> None:
        """An answer in the API's error envelope."""
        headers = extra.pop("headers", None)
        body = {
            "error": {"code": code, "message": message, "fields": extra.pop("fields", {})},
            "request_id": "req_srv",
        }
        self.json(status, body, headers)

    def raw(self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None) -> None:
        self._head(
            status, {"Content-Type": content_type, "Content-Length": str(len(body)), **(headers or {})}
        )
        self._handler.wfile.write(body)
        self._handler.wfile.flush()

    def empty(self, status: int = 204) -> None:
        self._head(status, {"Content-Length": "0"} if status != 204 else {})

    def start_stream(self, retry_ms: int | None = 10, headers: dict[str, str] | None = None) -> None:
        """200 `text/event-stream`, chunked; opens with `retry:` like the real server."""
        self._head(
            200,
            {
                "Content-Type": "text/event-stream; charset=utf-8",
                "Transfer-Encoding": "chunked",
                **(headers or {}),
            },
        )
        self._chunked = True
        if retry_ms is not None:
            self.send(f"retry: {retry_ms}\n\n")

    def send(self, data: str | bytes) -> None:
        """One chunk of the stream body."""
        raw = data.encode() if isinstance(data, str) else data
        self._handler.wfile.write(f"{len(raw):x}\r\n".encode() + raw + b"\r\n")
        self._handler.wfile.flush()

    def event(self, type: str, data: Any, id: int | None = None) -> None:
        lines = ([f"id: {id}"] if id is not None else []) + [f"event: {type}", f"data: {json.dumps(data)}"]
        self.send("\n".join(lines) + "\n\n")

    def finish(self) -> None:
        """End the stream cleanly: the last chunk."""
        self._handler.wfile.write(b"0\r\n\r\n")
        self._handler.wfile.flush()
        self._handler.close_connection = True

    def abort(self) -> None:
        """Drop the connection without ending the body: the client sees a broken stream."""
        self._handler.close_connection = True
        with contextlib.suppress(OSError):
            self._handler.connection.shutdown(socket.SHUT_RDWR)

    def idle(self, seconds: float) -> None:
        """Stay silent (but returns early when the server stops)."""
        self._stopping.wait(seconds)

    def _head(self, status: int, headers: dict[str, str]) -> None:
        self._handler.send_response_only(status)
        headers.setdefault("X-Request-ID", self.request.headers.get("x-request-id", "req_srv"))
        for name, value in headers.items():
            self._handler.send_header(name, value)
        self._handler.end_headers()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        parts = urlsplit(self.path)
        seen = Seen(
            method=self.command,
            path=parts.path,
            query=parse_qs(parts.query),
            headers={name.lower(): value for name, value in self.headers.items()},
            body=body,
        )
        with self.server.lock:
            index = len(self.server.requests)
            self.server.requests.append(seen)
        exchange = Exchange(self, seen, self.server.stopping)
        try:
            self.server.script(exchange, index)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    do_GET = do_POST = do_DELETE = do_PUT = _handle


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, script: Callable[[Exchange, int], None]) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.script = script
        self.requests: list[Seen] = []
        self.lock = threading.Lock()
        self.stopping = threading.Event()


class FakeServer:
    """Start with `FakeServer(handler).start()`; `url` to reach it, `requests` what it saw."""

    def __init__(self, script: Callable[[Exchange, int], None]) -> None:
        self._server = _Server(script)
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_port}"

    @property
    def requests(self) -> list[Seen]:
        with self._server.lock:
            return list(self._server.requests)

    def start(self) -> FakeServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.stopping.set()
        self._server.shutdown()
        self._server.server_close()
