"""Fixtures of the security tests: the real log pipeline in either format, writing to a buffer."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest
from django.db import connections

from api.logging import LOG_FORMATS
from tests.log_leaks import console_handlers, formatters


class LogOutput:
    """What the configured console handler wrote during the test, in one format."""

    def __init__(self, log_format: str) -> None:
        self.format = log_format
        self.buffer = io.StringIO()

    @property
    def text(self) -> str:
        return self.buffer.getvalue()


@pytest.fixture(params=LOG_FORMATS)
def log_output(request: pytest.FixtureRequest) -> Iterator[LogOutput]:
    """The LOGGING setting's handler (its filters untouched) printing in `text` or `json`."""
    output = LogOutput(request.param)
    handlers = console_handlers()
    assert handlers, "the LOGGING setting installed no redacting handler"
    saved = []
    for handler in handlers:
        assert isinstance(handler, logging.StreamHandler)
        saved.append((handler, handler.formatter, handler.setStream(output.buffer)))
        handler.setFormatter(formatters()[output.format])
    try:
        yield output
    finally:
        for handler, formatter, stream in saved:
            handler.setFormatter(formatter)
            handler.setStream(stream)


@pytest.fixture(autouse=True)
def _short_lived_thread_connections(monkeypatch: pytest.MonkeyPatch) -> None:
    # Requests through the ASGI application query from executor threads; their connections
    # must not outlive the test (they would block dropping the test database).
    monkeypatch.setitem(connections.settings["default"], "CONN_MAX_AGE", 0)
