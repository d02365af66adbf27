"""The logging configuration: the filter that prints the request context (core.context) and
the filters that keep secrets out of every field of every record."""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote_plus

from core.context import key_prefix_var, org_var, request_id_var

if TYPE_CHECKING:
    from django.http import HttpRequest

LOG_FORMATS = ("text", "json")
REDACTED = "[redacted]"

# Query parameters that carry a credential (spec §3 keys, §8a stream tickets), compared
# after percent-decoding: `api%5Fkey` is the same parameter to Django's QueryDict.
SECRET_PARAMS = frozenset({"token", "api_key", "ticket"})

# An underscore, literal or percent-encoded once or more (`%5F`, `%255F`, ...).
_UNDERSCORE = r"(?:_|%(?:25)*5f)"
# A key character, literal or percent-encoded (over-matching an encoded separator only
# redacts a little more).
_KEY_CHAR = r"(?:[a-z0-9_\-]|%(?:25)*[0-9a-f]{2})"
# A key anywhere: its readable prefix (as stored, 8 characters after `dsk_live_`) is kept.
_KEY_PATTERN = re.compile(
    rf"(dsk{_UNDERSCORE}(?:live|test){_UNDERSCORE}{_KEY_CHAR}{{0,8}}){_KEY_CHAR}*", re.IGNORECASE
)
# `name=value` in a query string or a form body, whatever the name's encoding.
_PARAM_PATTERN = re.compile(r"(?P<lead>^|[?&;\s])(?P<name>[^=&;?#\s\"']+)=(?P<value>[^&;#\s\"']*)")
_BEARER_PATTERN = re.compile(r"(Bearer\s+)\S+", re.IGNORECASE)

# Attributes every record has; anything else was passed with `extra=` (Django's request
# logger passes the request itself) or set by a filter, and is printed by the JSON format.
_RECORD_ATTRIBUTES = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "request_id",
    "org",
    "key_prefix",
}
_MAX_SCRUB_DEPTH = 6


def _decoded_name(name: str) -> str:
    # Decoding repeatedly catches `api%255Fkey` too; a few rounds are enough for any client.
    for _ in range(3):
        name = unquote_plus(name)  # a no-op once nothing is left to decode
    return name.strip().lower()


def is_secret_param(name: str) -> bool:
    """Whether a query or form parameter of this name (encoded or not) carries a credential."""
    return _decoded_name(name) in SECRET_PARAMS


def _redact_param(match: re.Match[str]) -> str:
    if is_secret_param(match["name"]):
        return f"{match['lead']}{match['name']}={REDACTED}"
    return match.group(0)


def redact(text: str) -> str:
    """Replace every API key (and any credential-bearing query value) in `text` with its prefix."""
    if "=" in text:
        text = _PARAM_PATTERN.sub(_redact_param, text)
    text = _BEARER_PATTERN.sub(rf"\1{REDACTED}", text)
    return _KEY_PATTERN.sub(rf"\1…{REDACTED}", text)


def describe_request(request: HttpRequest) -> str:
    """A request as logs show it: method and redacted path with query (never its headers)."""
    return f"<{type(request).__name__}: {request.method} {redact(request.get_full_path())}>"


def scrub(value: Any, depth: int = 0) -> Any:
    """`value` with every string redacted; objects become their redacted description."""
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, str):
        return redact(value)
    # Duck-typed: the settings module imports this one, before Django's own modules load.
    if hasattr(value, "get_full_path") and hasattr(value, "method"):
        return describe_request(value)
    if depth >= _MAX_SCRUB_DEPTH:
        return REDACTED
    if isinstance(value, dict):
        return {scrub(str(k), depth + 1): scrub(v, depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [scrub(item, depth + 1) for item in value]
    # Whatever a formatter would print for it (json's `default=str`), redacted now.
    try:
        return redact(str(value))
    except Exception:
        return REDACTED


class RequestContextFilter(logging.Filter):
    """Adds request_id, org and key_prefix to every record so formatters can print them."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get() or "-"
        record.org = org_var.get()
        record.key_prefix = key_prefix_var.get()
        return True


class RedactSecretsFilter(logging.Filter):
    """Scrubs keys from every field a formatter may print: the message and its arguments,
    the traceback, the stack, and every extra (the request object included).

    It sits on the handler, so records of every library pass through it; uvicorn's access
    log, for one, prints the raw (percent-encoded) query string.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: keep only what cannot leak
            message = redact(str(record.msg))
        record.msg = redact(message)
        record.args = None
        if record.exc_info:
            # Formatted once here; the JSON formatter re-formats exc_info when it is set,
            # so the redacted text replaces it.
            record.exc_text = logging.Formatter().formatException(record.exc_info)
            record.exc_info = None
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        for name, value in list(vars(record).items()):
            if name not in _RECORD_ATTRIBUTES:
                setattr(record, name, scrub(value))
        return True


class HostHeaderFilter(logging.Filter):
    """A request for a host we do not serve is the client's mistake (or a scanner), not ours:
    Django logs it at ERROR with a traceback; it is worth a WARNING line and nothing more."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.levelno = logging.WARNING
        record.levelname = logging.getLevelName(logging.WARNING)
        record.exc_info = None
        record.exc_text = None
        return True


def logging_config(log_format: str, level: str) -> dict[str, Any]:
    """The LOGGING setting: one console handler in `log_format`, every record redacted."""
    handler = {
        "class": "logging.StreamHandler",
        "formatter": log_format,
        # Redaction sits on the handler so every record, from any library, is scrubbed.
        "filters": ["request_context", "redact_secrets"],
    }
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {
            "request_context": {"()": "api.logging.RequestContextFilter"},
            "redact_secrets": {"()": "api.logging.RedactSecretsFilter"},
            "host_header": {"()": "api.logging.HostHeaderFilter"},
        },
        "formatters": {
            "text": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
            "json": {
                "()": "pythonjsonlogger.json.JsonFormatter",
                "format": "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s %(org)s %(key_prefix)s",
            },
        },
        "handlers": {"console": handler},
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            # Servers' access logs print the query string, where SSE clients may put a key.
            "uvicorn": {"handlers": ["console"], "level": level, "propagate": False},
            "uvicorn.access": {"handlers": ["console"], "level": level, "propagate": False},
            "uvicorn.error": {"handlers": ["console"], "level": level, "propagate": False},
            "daphne": {"handlers": ["console"], "level": "WARNING", "propagate": False},
            "django": {"handlers": ["console"], "level": level, "propagate": False},
            "django.security.DisallowedHost": {"filters": ["host_header"]},
            "celery": {"handlers": ["console"], "level": level, "propagate": False},
            # The housekeeping tasks run every few seconds, and the trace logs each success: at
            # INFO that drowns what a reader looks for. Failures stay (ERROR); task timings are
            # in the metrics.
            "celery.app.trace": {"handlers": ["console"], "level": "WARNING", "propagate": False},
        },
    }
