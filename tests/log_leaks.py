"""The key detector every test run's log output goes through: no API key, encoded or not,
may appear in a formatted log line (text or JSON)."""

from __future__ import annotations

import logging
import logging.config
import re
from urllib.parse import unquote_plus

from api.logging import LOG_FORMATS, logging_config

# More key characters than the readable prefix logs may show (8, accounts.models
# DISPLAY_PREFIX_LENGTH): anything longer is (part of) a secret.
_KEY = re.compile(r"dsk_(?:live|test)_[A-Za-z0-9_\-]{9,}", re.IGNORECASE)
_DECODING_ROUNDS = 4


def leaked_keys(line: str) -> list[str]:
    """The keys in `line`, found in it as written and after each round of URL-decoding
    (`dsk%5Flive%5F…`, `%255F`, `+` for spaces)."""
    found: list[str] = []
    text = line
    for _ in range(_DECODING_ROUNDS):
        found.extend(_KEY.findall(text))
        decoded = unquote_plus(text)
        if decoded == text:
            break
        text = decoded
    return found


def masked(line: str) -> str:
    """`line` decoded, with every key cut to its readable prefix: safe to print in a report."""
    text = line
    for _ in range(_DECODING_ROUNDS):
        decoded = unquote_plus(text)
        if decoded == text:
            break
        text = decoded
    return _KEY.sub(lambda match: match.group(0)[:17] + "…", text)


def formatters() -> dict[str, logging.Formatter]:
    """The project's own formatters, one per LOG_FORMAT, built from the real configuration."""
    config = logging_config("text", "INFO")
    configurator = logging.config.DictConfigurator(config)
    return {name: configurator.configure_formatter(config["formatters"][name]) for name in LOG_FORMATS}


class KeyLeakDetector(logging.Filter):
    """A last filter on the console handler: formats each record as both formats would
    print it (after the real filters ran) and keeps every line that carries a key."""

    def __init__(self) -> None:
        super().__init__()
        self.formatters = formatters()
        self.records_seen = 0
        self.leaks: list[tuple[str, str]] = []

    def filter(self, record: logging.LogRecord) -> bool:
        self.records_seen += 1
        for name, formatter in self.formatters.items():
            try:
                line = formatter.format(record)
            except Exception as exc:  # a record no formatter can print leaks nothing
                line = f"<unformattable record: {exc!r}>"
            if leaked_keys(line):
                self.leaks.append((name, line))
        return True

    def inspect_output(self, source: str, output: str) -> None:
        """Check what a server or worker process the tests started wrote (its own logging)."""
        for line in output.splitlines():
            if leaked_keys(line):
                self.leaks.append((source, line))


def console_handlers() -> list[logging.Handler]:
    """The handlers the LOGGING setting installed (they carry the redaction filter)."""
    from api.logging import RedactSecretsFilter

    seen: list[logging.Handler] = []
    loggers = [
        logging.getLogger(),
        *(logging.getLogger(name) for name in logging_config("text", "INFO")["loggers"]),
    ]
    for logger in loggers:
        for handler in logger.handlers:
            if handler not in seen and any(isinstance(f, RedactSecretsFilter) for f in handler.filters):
                seen.append(handler)
    return seen


def attach(detector: KeyLeakDetector) -> int:
    """Put `detector` last on every configured handler (again after a reconfiguration)."""
    handlers = console_handlers()
    for handler in handlers:
        if detector in handler.filters:
            handler.removeFilter(detector)
        handler.addFilter(detector)
    return len(handlers)


#: The run's detector: on the in-process handler, and given the output of every process
#: an end-to-end stack started (tests/e2e/stack.py).
DETECTOR = KeyLeakDetector()
