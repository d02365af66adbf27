"""A small, incremental parser for the WHATWG server-sent events wire format.

It works on bytes, not on httpx's text lines: `iter_lines()` also splits on U+0085,
U+2028 and friends, which the SSE format treats as ordinary characters. It also
counts comment lines, so a caller can tell a `: heartbeat` from silence.
"""

from __future__ import annotations

import codecs
import json
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Event", "SSEDecoder"]

_BOM = "\ufeff"


@dataclass(frozen=True)
class Event:
    """One dispatched server-sent event.

    `type` is the `event:` name (`"message"` when the server sent none), `id` the event's
    own `id:` field (None when it had none: the valuation streams and `stream.reset` carry
    no id), `data` the `data:` payload decoded as JSON (the raw text when it is not JSON)
    and `raw` that payload as received.
    """

    type: str
    data: Any
    id: str | None = None
    raw: str = field(default="", repr=False)


def _decode_data(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


class SSEDecoder:
    """Feed it bytes as they arrive; it returns the events completed by each chunk.

    One decoder per connection: a new connection starts with a fresh line buffer but
    carries the previous `last_event_id` over, as an `EventSource` does.
    """

    def __init__(self, last_event_id: str = "") -> None:
        # Always UTF-8 whatever the Content-Type says; invalid bytes become U+FFFD.
        self._utf8 = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._pending = ""  # text of an unfinished line
        self._after_cr = False  # the last chunk ended with CR: a leading LF belongs to it
        self._at_start = True  # a BOM is only skipped at the very start of the stream
        self._data: list[str] = []
        self._event_type = ""
        self._id_buffer = last_event_id
        self._block_id: str | None = None
        self.last_event_id = last_event_id
        """The id to send as `Last-Event-ID` on reconnection ("" for none)."""
        self.retry: int | None = None
        """The last valid `retry:` value (milliseconds) received, if any."""
        self.comments = 0
        """How many comment lines (e.g. `: heartbeat`) were received."""

    def feed(self, chunk: bytes) -> list[Event]:
        """Parse `chunk` and return the events it completed, in order."""
        text = self._utf8.decode(chunk)
        if self._at_start and text:
            self._at_start = False
            if text.startswith(_BOM):
                text = text[1:]
        elif self._at_start:
            return []
        return self._feed_text(text)

    def close(self) -> None:
        """End of stream: an unfinished event is discarded, never dispatched."""
        self._utf8.decode(b"", final=True)
        self._pending = ""
        self._data = []
        self._event_type = ""
        self._block_id = None
        self._id_buffer = self.last_event_id

    def _feed_text(self, text: str) -> list[Event]:
        events: list[Event] = []
        if self._after_cr and text.startswith("\n"):
            text = text[1:]  # the LF of a CRLF split across two chunks
        self._after_cr = False
        buffer = self._pending + text
        start = 0
        length = len(buffer)
        while True:
            cr = buffer.find("\r", start)
            lf = buffer.find("\n", start)
            if cr == -1 and lf == -1:
                break
            if cr == -1 or (lf != -1 and lf < cr):
                end, next_start = lf, lf + 1
            elif cr + 1 < length:
                end, next_start = cr, cr + 2 if buffer[cr + 1] == "\n" else cr + 1
            else:
                # A CR at the end of the chunk: the line is complete, but an LF may follow.
                end, next_start = cr, cr + 1
                self._after_cr = True
            event = self._line(buffer[start:end])
            if event is not None:
                events.append(event)
            start = next_start
        self._pending = buffer[start:]
        return events

    def _line(self, line: str) -> Event | None:
        if line == "":
            return self._dispatch()
        if line.startswith(":"):
            self.comments += 1
            return None
        name, colon, value = line.partition(":")
        if colon and value.startswith(" "):
            value = value[1:]
        if name == "data":
            self._data.append(value)
        elif name == "event":
            self._event_type = value
        elif name == "id":
            if "\0" not in value:
                self._id_buffer = value
                self._block_id = value
        elif name == "retry" and value.isascii() and value.isdigit():
            self.retry = int(value)
        # Any other field name is ignored, as the standard says.
        return None

    def _dispatch(self) -> Event | None:
        self.last_event_id = self._id_buffer
        data, event_type, block_id = self._data, self._event_type, self._block_id
        self._data, self._event_type, self._block_id = [], "", None
        if not data:
            return None
        raw = "\n".join(data)
        return Event(type=event_type or "message", data=_decode_data(raw), id=block_id, raw=raw)
