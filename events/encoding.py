"""Server-sent events wire format: the one place that writes SSE bytes."""

from __future__ import annotations

import json
from typing import Any

from events.catalogue import EVENT_NAME


def _compact_json(data: Any) -> str:
    # json.dumps escapes control characters, so a newline inside a string value
    # becomes the two characters "\n" and can never end the `data:` line early.
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False, default=str)


def encode_event(event: str, data: Any, *, event_id: int | None = None) -> bytes:
    """One SSE message: optional `id:`, `event:`, a single-line `data:` and the blank line."""
    if not EVENT_NAME.match(event):
        raise ValueError(f"Invalid SSE event name {event!r}")
    payload = _compact_json(data)
    # U+0085/U+2028/U+2029 are legal inside JSON strings but some line splitters
    # (Python's str.splitlines, old JavaScript) treat them as line ends; escaping
    # them keeps every client on one line.
    payload = payload.replace("\u0085", "\\u0085").replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    lines = []
    if event_id is not None:
        lines.append(f"id: {int(event_id)}")
    lines.append(f"event: {event}")
    lines.append(f"data: {payload}")
    return ("\n".join(lines) + "\n\n").encode()


def encode_comment(text: str) -> bytes:
    """A comment line, ignored by clients; used for heartbeats."""
    return f": {text.replace(chr(10), ' ').replace(chr(13), ' ')}\n\n".encode()


def encode_retry(milliseconds: int) -> bytes:
    return f"retry: {int(milliseconds)}\n\n".encode()


HEARTBEAT = encode_comment("heartbeat")

SSE_HEADERS = {
    "Cache-Control": "no-cache",
    "X-Accel-Buffering": "no",
}
SSE_CONTENT_TYPE = "text/event-stream; charset=utf-8"
