"""Log context (request id, organisation, key prefix) and the filter that keeps secrets out of logs."""

from __future__ import annotations

import logging
import re
from contextvars import ContextVar

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)
org_var: ContextVar[int | None] = ContextVar("org", default=None)
key_prefix_var: ContextVar[str | None] = ContextVar("key_prefix", default=None)

# A full key anywhere in a message, and key-bearing query parameters whatever their value.
_KEY_PATTERN = re.compile(r"(dsk_(?:live|test)_[A-Za-z0-9]{0,8})[A-Za-z0-9_\-]*")
_QUERY_PATTERN = re.compile(r"((?:^|[?&;\s])(?:token|api_key)=)[^&\s\"']*", re.IGNORECASE)
_BEARER_PATTERN = re.compile(r"(Bearer\s+)\S+", re.IGNORECASE)


def redact(text: str) -> str:
    """Replace every API key (and any key-bearing query value) in `text` with its prefix."""
    text = _QUERY_PATTERN.sub(r"\1[redacted]", text)
    text = _BEARER_PATTERN.sub(r"\1[redacted]", text)
    return _KEY_PATTERN.sub(r"\1…[redacted]", text)


def bind_principal(*, org: int | None, key_prefix: str | None) -> None:
    org_var.set(org)
    key_prefix_var.set(key_prefix)


class RequestContextFilter(logging.Filter):
    """Adds request_id, org and key_prefix to every record so formatters can print them."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get() or "-"
        record.org = org_var.get()
        record.key_prefix = key_prefix_var.get()
        return True


class RedactSecretsFilter(logging.Filter):
    """Scrubs keys from the final message (uvicorn's access log prints full query strings)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string is the logger's problem, not ours
            return True
        cleaned = redact(message)
        if cleaned != message or record.args:
            record.msg = cleaned
            record.args = None
        return True
